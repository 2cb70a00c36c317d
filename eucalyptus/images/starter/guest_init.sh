#!/bin/sh
# /init of the Eucalyptus starter image (PID 1, busybox ash).
# Brings the guest up, reads the instance metadata service, installs the key pair's public key,
# runs user-data that starts with "#!", starts dropbear and prints on the console:
#   EUCALYPTUS-GUEST-READY instance=<id> hostname=<name> ip=<address> uptime=<seconds>
# An ACPI power-button press (QMP system_powerdown) powers the guest off cleanly.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run/eucalyptus /tmp /var/log /var/run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mkdir -p /run/eucalyptus
exec </dev/console >/dev/console 2>&1

log() { echo "eucalyptus-init: $*"; }

if grep -q 'eucalyptus.probe=1' /proc/cmdline; then
    echo "EUCALYPTUS-PROBE-OK"
    poweroff -f
fi

ip link set lo up
hostname localhost
for mod in $(cat /etc/eucalyptus/modules); do
    insmod "/lib/modules/$mod" 2>/dev/null || log "insmod $mod failed"
done

IP=none
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 30 ]; do sleep 0.1; n=$((n + 1)); done
if [ -e /sys/class/net/eth0 ]; then
    ip link set eth0 up
    if udhcpc -i eth0 -s /etc/udhcpc.script -q -n -t 10 -T 1 >/dev/null 2>&1; then
        IP=$(cat /run/eucalyptus/ip 2>/dev/null || echo none)
    else
        log "no DHCP lease on eth0"
    fi
else
    log "no network interface"
fi

MD_HOST=169.254.169.254
TOKEN=""
imds_token() {
    # busybox wget cannot PUT, so the IMDSv2 token request is written by hand
    # busybox nc stops reading once its input ends, so the input stays open until the
    # answer has arrived
    r=/run/eucalyptus/token.http
    rm -f "$r"
    { printf 'PUT /latest/api/token HTTP/1.0\r\nHost: %s\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\n\r\n' "$MD_HOST"
      n=0; while [ ! -s "$r" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done; sleep 0.2
    } | timeout 6 nc "$MD_HOST" 80 > "$r" 2>/dev/null
    resp=$(tr -d '\r' < "$r")
    case "$resp" in
        "HTTP/1."?" 200"*) TOKEN=$(printf '%s\n' "$resp" | sed '1,/^$/d' | tr -d '\n') ;;
    esac
}
md_get() {  # md_get PATH: the body on stdout; non-zero status when missing
    # busybox 1.35 "wget -T" crashes, so "timeout" bounds the request
    if [ -n "$TOKEN" ]; then
        timeout 5 wget -q -O - --header "X-aws-ec2-metadata-token: $TOKEN" "http://$MD_HOST/latest/$1"
    else
        timeout 5 wget -q -O - "http://$MD_HOST/latest/$1"
    fi
}

INSTANCE=unknown
NAME=localhost
if [ "$IP" != none ]; then
    n=0
    while [ $n -lt 10 ]; do
        imds_token
        if INSTANCE=$(md_get meta-data/instance-id) && [ -n "$INSTANCE" ]; then break; fi
        INSTANCE=unknown; n=$((n + 1)); sleep 1
    done
    if [ -n "$TOKEN" ]; then log "metadata: instance $INSTANCE (IMDSv2)"
    else log "metadata: instance $INSTANCE (IMDSv1)"; fi
    NAME=$(md_get meta-data/hostname || md_get meta-data/local-hostname || echo "$INSTANCE")
    [ -n "$NAME" ] || NAME=$INSTANCE
    if md_get meta-data/public-keys/0/openssh-key > /run/eucalyptus/key; then
        cat /run/eucalyptus/key >> /root/.ssh/authorized_keys
        echo >> /root/.ssh/authorized_keys
        chmod 600 /root/.ssh/authorized_keys
    fi
    md_get user-data > /run/eucalyptus/user-data 2>/dev/null || rm -f /run/eucalyptus/user-data
fi
hostname "$NAME"
echo "$NAME" > /etc/hostname

mkdir -p /etc/dropbear
dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1
dropbear -s -r /etc/dropbear/dropbear_ed25519_host_key -p 22 -P /run/dropbear.pid

acpid -c /etc/acpi

echo "EUCALYPTUS-GUEST-READY instance=$INSTANCE hostname=$NAME ip=$IP uptime=$(cut -d' ' -f1 /proc/uptime)"

if [ -s /run/eucalyptus/user-data ] && [ "$(head -c 2 /run/eucalyptus/user-data)" = "#!" ]; then
    chmod 700 /run/eucalyptus/user-data
    (
        /run/eucalyptus/user-data > /var/log/user-data.log 2>&1
        status=$?
        sed 's/^/user-data: /' /var/log/user-data.log
        echo "EUCALYPTUS-USER-DATA-DONE status=$status"
    ) &
fi

while :; do wait; sleep 60; done
