#!/bin/sh
# $1 = node index; runs inside: ip netns exec zhsN unshare -m --propagation private
set -e
i=$1; d=/tmp/pcmk/n$i
mount -t tmpfs tmpfs /run
mkdir -p $d/lib $d/log
mount --bind $d/lib /var/lib/pacemaker
mount --bind $d/log /var/log/pacemaker
mkdir -p /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores /run/crm
chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker /run/crm
corosync -c $d/corosync.conf
sleep 2
export PCMK_logfile=$d/pacemaker.log
exec pacemakerd
