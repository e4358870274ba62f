"""External work: tasks handed to external agents under leases, and the timeouts around them.

`tokens` registers agents and checks their tokens, `dispatcher` hands out tasks by long
poll and takes reports, `sweeper` returns what expired. The Deck's task board
(`deck/tasks.py`) is the command side that uses them.
"""
