"""Step 4: the Corosync links (1-8) and the one DRBD replicates over."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Select, Static

from screens.base import Prose, FieldRow, StepScreen, int_or_text, text_input
from wizard.i18n import _
from wizard.steps import STEP_FIELDS
from wizard.spec import MAX_LINKS, ClusterSpec, Link, Secrets


class LinkBox(Vertical):
    """One link: an address per node and the subnet's prefix."""

    def __init__(self, index: int, names: list[str], link: Link) -> None:
        super().__init__(classes="link-box")
        self.index = index
        self.names = names
        self.link = link

    def compose(self) -> ComposeResult:
        i = self.index
        with Horizontal(classes="link-head"):
            yield Prose(_("Link {n}").format(n=i), classes="section link-title")
            yield Button(_("Remove"), id=f"remove-{i}", classes="remove", compact=True)
        addrs = (self.link.addresses + ["", ""])[:2]
        for j in range(2):
            yield FieldRow(f"links[{i}].addresses[{j}]", _("{node} address").format(node=self.names[j]),
                           text_input(addrs[j], id=f"link-{i}-addr-{j}"))
        yield FieldRow(f"links[{i}].prefix", _("Prefix length"),
                       text_input(str(self.link.prefix), integer=True, id=f"link-{i}-prefix"))

    def value(self) -> Link:
        return Link(addresses=[self.query_one(f"#link-{self.index}-addr-{j}").value.strip() for j in range(2)],
                    prefix=int_or_text(self.query_one(f"#link-{self.index}-prefix").value))


class InterconnectScreen(StepScreen):
    NAME = "interconnect"
    CSS_PATH = "interconnect.tcss"
    PREFIXES = STEP_FIELDS["interconnect"]

    def intro(self) -> str:
        return _("Corosync heartbeat links between the nodes, 1 to 8. Two are recommended, "
                 "each on its own NIC and cable or switch: with one, a single cable or switch "
                 "failure splits the cluster. A direct back-to-back cable makes a good link.")

    def compose_form(self) -> ComposeResult:
        yield Vertical(id="links")
        yield Button(_("Add a link"), id="add-link", compact=True)
        yield Prose(_("Replication"), classes="section")
        yield FieldRow("storage.replication_link", _("DRBD replicates over"),
                       Select([("", 0)], allow_blank=False, compact=True, id="replication"),
                       hint=_("best: a dedicated back-to-back link"))
        yield Prose("", id="advice", classes="note")

    def _names(self) -> list[str]:
        names = [n.hostname or _("node {n}").format(n=i + 1) for i, n in enumerate(self.app.spec.nodes[:2])]
        return (names + ["node 1", "node 2"])[:2]

    def load_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        # The box is still empty here, so mounting needs no waiting for removals.
        self._build([Link(list(link.addresses), link.prefix) for link in spec.links] or [Link(["", ""])],
                    spec.storage.replication_link)
        # The rows mount after the screen picked its first focus (the add button).
        self.call_after_refresh(lambda: self.query_one("#link-0-addr-0").focus(scroll_visible=False))

    def _links(self) -> list[Link]:
        return [box.value() for box in self.query(LinkBox)]

    async def _rebuild(self, links: list[Link], replication: object) -> None:
        # Rows are numbered by position: rebuild them all so field paths
        # (links[i]...) stay right after a removal. Wait for the old rows to
        # go before mounting rows with the same ids.
        await self.query_one("#links", Vertical).remove_children()
        await self._build(links, replication)

    def _build(self, links: list[Link], replication: object):
        box = self.query_one("#links", Vertical)
        names = self._names()
        mounted = box.mount_all([LinkBox(i, names, link) for i, link in enumerate(links)])
        self.query_one("#add-link", Button).disabled = len(links) >= MAX_LINKS
        select = self.query_one("#replication", Select)
        select.set_options([(self._link_label(i, link), i) for i, link in enumerate(links)])
        if isinstance(replication, int) and 0 <= replication < len(links):
            select.value = replication
        else:
            select.value = len(links) - 1
        self._advice(len(links))
        self._labels = None
        self.call_after_refresh(self._sync_remove_buttons)
        return mounted

    def _sync_remove_buttons(self) -> None:
        only_one = len(self.query(LinkBox)) <= 1
        for button in self.query(".remove").results(Button):
            button.display = not only_one

    def _link_label(self, i: int, link: Link) -> str:
        a, b = (link.addresses + ["", ""])[:2]
        return _("Link {n} ({a} ↔ {b})").format(n=i, a=a or "?", b=b or "?")

    def _advice(self, count: int) -> None:
        if count == 1:
            text = _("One link only: the cluster cannot tell a dead peer from a broken cable. "
                     "Add a second link on a separate NIC.")
        else:
            text = _("{n} links: Corosync uses the highest-priority one (link 0) and fails over "
                     "to the others. Put each on its own subnet and NIC.").format(n=count)
        self.query_one("#advice", Static).update(text)

    @on(Button.Pressed, "#add-link")
    async def _add(self) -> None:
        links = self._links()
        if len(links) >= MAX_LINKS:
            return
        replication = self.query_one("#replication", Select).value
        await self._rebuild(links + [Link(["", ""])], replication)
        self.query_one(f"#link-{len(links)}-addr-0").focus()

    @on(Button.Pressed, ".remove")
    async def _remove(self, event: Button.Pressed) -> None:
        index = int((event.button.id or "remove-0").split("-")[1])
        links = self._links()
        if len(links) <= 1:
            return
        replication = self.query_one("#replication", Select).value
        del links[index]
        if isinstance(replication, int):
            # Keep pointing at the same link when an earlier one goes away.
            replication = replication - 1 if replication > index else min(replication, len(links) - 1)
        await self._rebuild(links, replication)
        self.query_one("#add-link").focus()

    def refresh_labels(self, spec: ClusterSpec) -> None:
        names = self._names()
        for row in self.query(FieldRow):
            if ".addresses[" in row.path:
                j = int(row.path[-2])
                row.set_label(_("{node} address").format(node=names[j]))

    def to_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        spec.links = self._links()
        value = self.query_one("#replication", Select).value
        spec.storage.replication_link = value if isinstance(value, int) else 0
        # Labels of the replication choices show the addresses as typed.
        select = self.query_one("#replication", Select)
        labels = [(self._link_label(i, link), i) for i, link in enumerate(spec.links)]
        if labels != getattr(self, "_labels", None):
            self._labels = labels
            select.set_options(labels)
            select.value = spec.storage.replication_link
