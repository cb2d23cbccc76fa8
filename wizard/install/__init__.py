"""The install: the cluster as idempotent steps per node, run on both nodes.

Layout, in the order data flows:
- `step`     the Step model (check -> apply -> verify) and the Context a step runs in
- `events`   what a run reports while it works (the CLI prints them, the TUI shows them)
- stages     one module per stage, each building its steps from the spec:
             `packages`, `system`, `files`, `drbd`, `database`, `cluster`, `fencing`, `cib`, `final`
- `plan`     every step of both nodes in dependency order (what `zabbix-ha plan` prints)
- `runner`   runs a plan: both nodes concurrently where independent, journal, resume
- `session`  one run as the CLI and the wizard drive it: connect, what would be destroyed, run, report
- `command`  `zabbix-ha plan` and `zabbix-ha install`
"""
