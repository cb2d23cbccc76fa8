"""Preflight: read both nodes, judge them against the answers, report; nothing on a node is changed.

The modules, in the order data flows through them:

- `parse`: pure parsers, one command's raw output -> facts dataclasses (no command is run here).
- `facts`: discovery through an Executor: runs the read-only commands and builds NodeFacts with `parse`.
- `probes`: what only traffic between the nodes can tell (links, ports, VIP in use, BMCs), as plain data.
- `checks`: pure judgement, (spec, facts, probes) -> every Finding at once (`check()`).
- `command`: `zabbix-ha preflight`: connects, runs facts and probes, calls `check()`, prints the findings.
"""
