#!/bin/sh
# Assembles a LocalVM root filesystem from busybox-static and tars it into $OUTPUT_DIR/rootfs.tar.
# Offline: it reads only the host's busybox. Run by packer's shell-local provisioner (template.json).
set -eu
: "${OUTPUT_DIR:?the template needs -var output_dir=DIR}"
: "${MARKER:?}"
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "assemble-rootfs: $BUSYBOX is missing: install busybox-static" >&2; exit 1; }

# The staging tree lives in packer's private work dir (the builder's cwd), never in output_dir:
# artifacts are exactly the files left in output_dir.
root=$(mktemp -d "${TMPDIR:-/tmp}/rootfs.XXXXXX")
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
for d in bin sbin usr/bin usr/sbin etc root tmp proc sys dev run var var/tmp home mnt; do mkdir -p "$root/$d"; done
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"
cp "$BUSYBOX" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
"$BUSYBOX" --list-full | while read -r applet; do
    [ -n "$applet" ] && [ "$applet" != bin/busybox ] || continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -sf /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
printf '127.0.0.1\tlocalhost\n' > "$root/etc/hosts"
printf '%s\n' "$MARKER" > "$root/etc/marker"
echo "assemble-rootfs: $(ls "$root/bin" | wc -l) entries in /bin, marker '$MARKER'"

# Owners 0:0 and numeric, sorted names and a fixed mtime: the same inputs give the same bytes.
tar --create --file "$OUTPUT_DIR/rootfs.tar" --directory "$root" --owner=0 --group=0 --numeric-owner \
    --sort=name --mtime=@0 .
echo "assemble-rootfs: wrote $OUTPUT_DIR/rootfs.tar"
