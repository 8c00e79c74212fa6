# Chapter 6's model runs that take well under a second. The others (the whole
# model and most bugs, 15 to 25 s each) are too slow for every test run; their
# state counts are pinned in models/tests/replication.rs.
model check-replication-truncate-to-hw fail check replication --bug truncate-to-hw
model check-replication-lost-disk fail check replication --bug lost-disk
