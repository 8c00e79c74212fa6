# Chapter 8's model runs, about a second each: the real table and each bug.
model check-idempotence pass check idempotence
for bug in retain-four keep-batches-on-epoch-bump count-in-flight; do
  model "check-idempotence-$bug" fail check idempotence --bug "$bug"
done
