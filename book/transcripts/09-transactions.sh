# Chapter 9's model runs: the real coordinator, and KAFKA-14402's hanging
# transaction stopped at its first failure.
model check-transactions pass check transactions
model check-transactions-hanging-transaction fail check transactions --bug hanging-transaction --first-failure
