# Chapter 10's model run: the unsafe swap, stopped at its first failure.
model check-compaction-delete-before-durable fail check compaction --bug delete-before-durable --first-failure
