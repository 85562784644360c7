/*
 * kafka-broker: the local Kafka for development and tests, a standalone program around
 * librdkafka's mock cluster (rdkafka_mock.h). Clients talk the real Kafka wire protocol to it
 * (librdkafka, kcat), with several brokers, consumer groups and committed offsets.
 *
 *   kafka-broker [--brokers N] [--partitions P] [--replication R] [--topic NAME]...
 *                [--bootstrap-file PATH] [--control FIFO]
 *
 * It creates each --topic with P partitions and R replicas, writes the bootstrap address to
 * PATH (atomically: a non-empty file means ready) and prints one JSON "ready" line on stdout.
 * SIGTERM/SIGINT stop it: the cluster is destroyed, PATH and FIFO removed, exit status 0.
 * With --control, lines written to FIFO drive fault tests: "down ID" disconnects broker ID
 * and refuses new connections, "up ID" accepts them again (ID -1 means every broker).
 *
 * Limits (librdkafka 2.0.2's mock, not a real Kafka): everything is in memory and lost on
 * exit; listener ports are random on every start (read the bootstrap file); each partition
 * keeps only its last ~5 MiB of records (older ones are deleted, so a committed offset can
 * fall out of range); no CreateTopics/DeleteTopics admin API (topics come from --topic or are
 * auto-created on first use, by producers and consumers alike, with the mock's fixed 4
 * partitions, not P); after a member leaves a group, the group's next join completes only
 * session.timeout.ms - 1 s later (the members' setting: 44 s with librdkafka's default, so
 * local runs set it low); every member of a group must list the same assignment strategy
 * first, or the broker aborts on an assertion; "down" does not move partition leaders, so a
 * leader that is down makes its partitions unavailable; no TLS, SASL or ACLs. Production uses
 * Apache Kafka (docker-compose.yml).
 */
#include "timefmt.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define SERVICE "kafka-broker"
#define MAX_TOPICS 256
#define TICK_MS 100

static volatile sig_atomic_t stop_requested;

struct broker_args {
	int brokers;
	int partitions;
	int replication;
	const char *topics[MAX_TOPICS];
	int ntopics;
	const char *bootstrap_file;
	const char *control_fifo;
};

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Appends s to buf as a JSON string body (without quotes); always terminates buf. */
static void json_escape(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);
	for (; *s && n + 7 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)ch;
		} else if (ch < 0x20) {
			n += (size_t)snprintf(buf + n, size - n, "\\u%04x", ch);
		} else {
			buf[n++] = (char)ch;
		}
	}
	buf[n] = '\0';
}

/*
 * Writes one JSON log line {"ts","level","service","msg"[,key:value]} to fd with one write(2),
 * so lines from librdkafka's threads never interleave. `extra` is either NULL or a
 * preformatted `"key":value,...` fragment.
 */
static void log_line(int fd, const char *level, const char *msg, const char *extra)
{
	char ts[32];
	char line[2048];
	rfc3339_format(time_now_ms(), ts);
	snprintf(line, sizeof(line),
	         "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"" SERVICE "\",\"msg\":\"", ts,
	         level);
	json_escape(line, sizeof(line) - 64, msg);
	size_t n = strlen(line);
	snprintf(line + n, sizeof(line) - n, "\"%s%s}\n", extra ? "," : "", extra ? extra : "");
	n = strlen(line);
	if (write(fd, line, n) < 0) {
		/* Nowhere left to report it. */
	}
}

/* librdkafka's own log lines (the mock cluster's included), as JSON on stderr. */
static void on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	/* The host client has no bootstrap.servers on purpose: it only carries the cluster. */
	if (strstr(buf, "No `bootstrap.servers` configured"))
		return;
	char extra[128] = "\"facility\":\"";
	json_escape(extra, sizeof(extra) - 2, fac);
	strcat(extra, "\"");
	log_line(STDERR_FILENO,
	         level <= LOG_ERR       ? "error"
	         : level <= LOG_WARNING ? "warn"
	                                : "info",
	         buf, extra);
}

static int parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: kafka-broker [--brokers N] [--partitions P] [--replication R] "
	                "[--topic NAME]... [--bootstrap-file PATH] [--control FIFO]\n");
}

/* Fills args from argv. Returns 0, or -1 after writing why on stderr. */
static int parse_args(int argc, char **argv, struct broker_args *a)
{
	memset(a, 0, sizeof(*a));
	a->brokers = 3;
	a->partitions = 6;
	a->replication = -1;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
			usage();
			return -1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "kafka-broker: %s needs a value\n", opt);
			usage();
			return -1;
		}
		const char *val = argv[++i];
		int bad = 0;
		if (!strcmp(opt, "--brokers"))
			bad = parse_int(val, 1, 64, &a->brokers);
		else if (!strcmp(opt, "--partitions"))
			bad = parse_int(val, 1, 10000, &a->partitions);
		else if (!strcmp(opt, "--replication"))
			bad = parse_int(val, 1, 64, &a->replication);
		else if (!strcmp(opt, "--topic")) {
			if (a->ntopics == MAX_TOPICS || !*val) {
				fprintf(stderr, "kafka-broker: too many topics or empty name\n");
				return -1;
			}
			a->topics[a->ntopics++] = val;
		} else if (!strcmp(opt, "--bootstrap-file"))
			a->bootstrap_file = val;
		else if (!strcmp(opt, "--control"))
			a->control_fifo = val;
		else {
			fprintf(stderr, "kafka-broker: unknown option %s\n", opt);
			usage();
			return -1;
		}
		if (bad) {
			fprintf(stderr, "kafka-broker: bad value for %s: %s\n", opt, val);
			return -1;
		}
	}
	if (a->replication < 0)
		a->replication = a->brokers < 3 ? a->brokers : 3;
	if (a->replication > a->brokers) {
		fprintf(stderr, "kafka-broker: --replication %d exceeds --brokers %d\n",
		        a->replication, a->brokers);
		return -1;
	}
	return 0;
}

/* Writes content + "\n" to path through a temporary file and rename(2). Returns 0 or -1. */
static int write_file_atomic(const char *path, const char *content)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	int rc = fprintf(f, "%s\n", content) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
	}
	return rc;
}

/*
 * Opens the control FIFO for reading without blocking, creating it if needed. A second,
 * write-only descriptor is kept open so that the FIFO never reads end-of-file when a writer
 * (`echo down 1 > FIFO`) closes it. Returns the read descriptor or -1.
 */
static int control_open(const char *path, int *keepalive)
{
	struct stat st;
	if (mkfifo(path, 0600) != 0 && errno != EEXIST)
		return -1;
	if (stat(path, &st) != 0)
		return -1;
	if (!S_ISFIFO(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	*keepalive = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (*keepalive < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Executes one control line: "down ID" or "up ID". */
static void control_command(rd_kafka_mock_cluster_t *mc, char *line)
{
	char verb[16];
	int id;
	char extra[160];
	char trailing;
	if (sscanf(line, "%15s %d %c", verb, &id, &trailing) != 2 ||
	    (strcmp(verb, "down") != 0 && strcmp(verb, "up") != 0)) {
		snprintf(extra, sizeof(extra), "\"command\":\"");
		json_escape(extra, sizeof(extra) - 2, line);
		strcat(extra, "\"");
		log_line(STDERR_FILENO, "error", "bad control command (want: down ID | up ID)",
		         extra);
		return;
	}
	rd_kafka_resp_err_t err = !strcmp(verb, "down") ? rd_kafka_mock_broker_set_down(mc, id)
	                                                : rd_kafka_mock_broker_set_up(mc, id);
	snprintf(extra, sizeof(extra), "\"broker\":%d,\"state\":\"%s\"", id, verb);
	if (err) {
		size_t n = strlen(extra);
		snprintf(extra + n, sizeof(extra) - n, ",\"error\":\"%s\"", rd_kafka_err2str(err));
		log_line(STDOUT_FILENO, "error", "control command failed", extra);
	} else {
		log_line(STDOUT_FILENO, "info", "broker state changed", extra);
	}
}

/* Reads what the FIFO holds and runs each complete line. `buf` keeps a partial line. */
static void control_read(rd_kafka_mock_cluster_t *mc, int fd, char *buf, size_t size, size_t *len)
{
	for (;;) {
		ssize_t n = read(fd, buf + *len, size - 1 - *len);
		if (n <= 0)
			return;
		*len += (size_t)n;
		buf[*len] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (nl > buf && nl[-1] == '\r')
				nl[-1] = '\0';
			if (*buf)
				control_command(mc, buf);
			size_t rest = *len - (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, rest + 1);
			*len = rest;
		}
		if (*len == size - 1) /* a line longer than the buffer: drop it */
			*len = 0;
	}
}

int main(int argc, char **argv)
{
	struct broker_args a;
	char errstr[512];
	int rc = 1;
	rd_kafka_t *rk = NULL;
	rd_kafka_mock_cluster_t *mc = NULL;
	int control_fd = -1, control_keep = -1;
	bool wrote_bootstrap = false;

	if (parse_args(argc, argv, &a) != 0)
		return 2;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		log_line(STDERR_FILENO, "error", errstr, NULL);
		return 1;
	}
	conf = NULL; /* owned by rk now */

	mc = rd_kafka_mock_cluster_new(rk, a.brokers);
	if (!mc) {
		log_line(STDERR_FILENO, "error", "could not create the mock cluster", NULL);
		goto out;
	}
	for (int i = 0; i < a.ntopics; i++) {
		rd_kafka_resp_err_t err =
		        rd_kafka_mock_topic_create(mc, a.topics[i], a.partitions, a.replication);
		if (err) {
			char extra[400] = "\"topic\":\"";
			json_escape(extra, sizeof(extra) - 100, a.topics[i]);
			size_t n = strlen(extra);
			snprintf(extra + n, sizeof(extra) - n, "\",\"error\":\"%s\"",
			         rd_kafka_err2str(err));
			log_line(STDERR_FILENO, "error", "could not create topic", extra);
			goto out;
		}
	}
	if (a.control_fifo) {
		control_fd = control_open(a.control_fifo, &control_keep);
		if (control_fd < 0) {
			char extra[300] = "\"path\":\"";
			json_escape(extra, sizeof(extra) - 100, a.control_fifo);
			size_t n = strlen(extra);
			snprintf(extra + n, sizeof(extra) - n, "\",\"error\":\"%s\"",
			         strerror(errno));
			log_line(STDERR_FILENO, "error", "could not open the control FIFO", extra);
			goto out;
		}
	}

	const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
	if (a.bootstrap_file) {
		if (write_file_atomic(a.bootstrap_file, bootstrap) != 0) {
			char extra[300] = "\"path\":\"";
			json_escape(extra, sizeof(extra) - 100, a.bootstrap_file);
			size_t n = strlen(extra);
			snprintf(extra + n, sizeof(extra) - n, "\",\"error\":\"%s\"",
			         strerror(errno));
			log_line(STDERR_FILENO, "error", "could not write the bootstrap file",
			         extra);
			goto out;
		}
		wrote_bootstrap = true;
	}
	{
		char extra[1024] = "\"bootstrap\":\"";
		json_escape(extra, sizeof(extra) - 128, bootstrap);
		size_t n = strlen(extra);
		snprintf(extra + n, sizeof(extra) - n,
		         "\",\"brokers\":%d,\"partitions\":%d,\"replication\":%d,\"topics\":%d",
		         a.brokers, a.partitions, a.replication, a.ntopics);
		log_line(STDOUT_FILENO, "info", "ready", extra);
	}

	char control_buf[256];
	size_t control_len = 0;
	while (!stop_requested) {
		struct pollfd pfd = {.fd = control_fd, .events = POLLIN};
		int n = poll(&pfd, control_fd >= 0 ? 1 : 0, TICK_MS);
		if (n > 0 && (pfd.revents & POLLIN))
			control_read(mc, control_fd, control_buf, sizeof(control_buf),
			             &control_len);
	}
	log_line(STDOUT_FILENO, "info", "stopping", NULL);
	rc = 0;

out:
	if (wrote_bootstrap)
		unlink(a.bootstrap_file);
	if (control_fd >= 0) {
		close(control_fd);
		close(control_keep);
		unlink(a.control_fifo);
	}
	if (mc)
		rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return rc;
}
