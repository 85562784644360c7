# Loopback ports for the tests' servers (sourced by the shell tests).
#
# Chosen below the kernel's ephemeral range (32768 and up), so that no outgoing connection and no
# listener on a kernel-chosen port (the test broker's) can take one between the choice and the
# bind, and checked with ss to be free now.

# free_port_block N: the first of N consecutive ports on which nothing listens.
free_port_block() {
	n=${1:-1}
	while :; do
		p=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % (12700 - n)))
		[ -z "$(ss -Hltn "sport >= :$p and sport < :$((p + n))")" ] && break
	done
	echo "$p"
}
