# Chapter 7's model runs: each planted bug, stopped at its first failure.
# (The whole `check kraft` takes about ten seconds, too long for every test
# run; its state count is pinned in models/tests/kraft.rs instead.)
for bug in vote-not-persisted vote-without-log-check commit-old-epoch no-check-quorum \
  prospective-follows-dead-leader; do
  model "check-$bug" fail check kraft --bug "$bug" --first-failure
done
