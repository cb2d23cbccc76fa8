"""The lab's ready answers file: a ClusterSpec for the two lab nodes.

Written by `lab up` next to the state file, with a secrets file (0600)
beside it, so the wizard and the tests can target the lab with no typing.
"""

from __future__ import annotations

import secrets as pysecrets

from wizard.lab import ipmi
from wizard.lab.network import Layout
from wizard.lab.paths import ANSWERS_FILE, NODES, SECRETS_FILE
from wizard.lab.state import LabState

DATA_DISK = "/dev/vdb"
META_DISK = "/dev/vdc"
SBD_DEVICE = "/dev/disk/by-id/virtio-zha-sbd"     # the disk both VMs share
SBD_ANSWERS_FILE = ANSWERS_FILE.with_name("answers-sbd.yaml")


def build_spec(st: LabState, layout: Layout, fencing_method: str | None = None,
               disks: dict[str, tuple[str, str]] | None = None):
    """The lab as a ClusterSpec. VMs: IPMI fencing through the simulated BMCs
    (or, with fencing_method="sbd", SBD on the shared disk); containers: none.
    disks: node -> (data, meta) as the node names them (VMs: vdb/vdc; containers:
    their loop devices)."""
    from wizard.platforms import platform
    from wizard.spec import (NO_FENCING_ACKNOWLEDGEMENT, ClusterSpec, Fencing, IpmiDevice, Link, Node,
                             NodeDisks, ServiceAddresses, Storage, Zabbix)

    if fencing_method == "sbd":
        fencing = Fencing(method="sbd", sbd_device=SBD_DEVICE)
    elif st.fencing == "ipmi":
        fencing = Fencing(method="ipmi", ipmi=[IpmiDevice(address=layout.bmc_address(n), user=ipmi.USER, lanplus=True)
                                              for n in NODES])
    else:
        # Containers have no power to cut and no watchdog: the lab says so explicitly.
        fencing = Fencing(method="none", acknowledgement=NO_FENCING_ACKNOWLEDGEMENT)
    return ClusterSpec(
        name="zha-lab",
        nodes=[Node(hostname=n, address=layout.node_address("mgmt", n)) for n in NODES],
        links=[Link(addresses=[layout.node_address(net, n) for n in NODES], prefix=layout.subnet(net).prefixlen)
               for net in ("ic1", "ic2")],
        storage=Storage(nodes=[NodeDisks(disk=(disks or {}).get(n, (DATA_DISK, META_DISK))[0],
                                         meta_disk=(disks or {}).get(n, (DATA_DISK, META_DISK))[1], meta_index=0)
                               for n in NODES],
                        meta_disk_mode="indexed", replication_link=1),
        services=ServiceAddresses(vip=layout.vip, vip_prefix=layout.subnet("mgmt").prefixlen,
                                  vip_nics=["eth0", "eth0"], source_address=layout.source_address),
        # The lab's mirror holds the OS's own archive: the Zabbix that OS ships.
        zabbix=Zabbix(version=platform(st.platform).os_zabbix_versions[0], package_source="mirror",
                      mirror_url=st.repo_url, server_name="zabbix.lab.invalid", timezone="UTC"),
        fencing=fencing,
        platform=st.platform,
    )


def build_secrets(st: LabState):
    from wizard.spec import Secret, Secrets

    return Secrets(
        db_password=Secret(pysecrets.token_urlsafe(18)),
        hacluster_password=Secret(pysecrets.token_urlsafe(18)),
        zabbix_admin_password=Secret(pysecrets.token_urlsafe(18)),
        ipmi={n: Secret(ipmi.PASSWORD) for n in NODES} if st.fencing == "ipmi" else {},
    )


def write_answers(st: LabState, layout: Layout, disks: dict[str, tuple[str, str]], *, secrets: bool = True) -> None:
    """The answers files; secrets too unless `secrets` is false (a reset keeps them)."""
    from wizard.answers import save_answers, save_secrets

    save_answers(build_spec(st, layout, disks=disks), ANSWERS_FILE)
    if secrets:
        save_secrets(build_secrets(st), SECRETS_FILE)
    SBD_ANSWERS_FILE.unlink(missing_ok=True)
    if st.flavour == "vm":
        # The same cluster with SBD fencing instead of IPMI (same secrets file).
        save_answers(build_spec(st, layout, fencing_method="sbd", disks=disks), SBD_ANSWERS_FILE)
