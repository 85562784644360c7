/*
 * loadgen: the benchmarks' load generator and limit meter (the scripts of tests/bench), one program with
 * three commands; each prints one line "key=value ..." that the scripts read.
 *
 *   loadgen kafka BROKERS TOPIC INPUT N
 *       raw librdkafka: N records (the lines of INPUT, cycled, so the size is the pipeline's
 *       own) produced with the services' producer settings (idempotent, acks=all,
 *       linger.ms=5) while a consumer assigned to every partition reads them back; the time
 *       from the first produce until the last record is consumed.
 *   loadgen pg URL N BATCH
 *       PostgreSQL: N rows shaped like collector.messages written with COPY, then with the
 *       services' statement (INSERT ... SELECT FROM unnest() of array parameters, BATCH rows a
 *       transaction), each into a table of its own.
 *   loadgen http URL TOKEN INPUT BATCH CONNECTIONS [RATE]
 *       HTTP ingest: the lines of INPUT (ingest items) POSTed as NDJSON bodies of BATCH items
 *       over CONNECTIONS keep-alive connections, as fast as accepted or at RATE items/s.
 *
 * It measures; it asserts nothing beyond every record arriving (a run that loses one fails).
 */
#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "files.h"
#include "strbuf.h"
#include "xalloc.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	double d = t - now_s();
	if (d <= 0)
		return;
	struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
	nanosleep(&ts, NULL);
}

static noreturn void die(const char *what, const char *why)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, why);
	exit(1);
}

static void sb_clear(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

/* The non-empty lines of a file, in place in its bytes (the caller keeps both). */
struct lines {
	char *data;
	char **line;
	size_t n;
};

static void lines_read(const char *path, struct lines *l)
{
	char err[256];
	size_t len = 0;
	l->data = file_read(path, &len, err, sizeof(err));
	if (!l->data)
		die(path, err);
	l->line = NULL;
	l->n = 0;
	size_t cap = 0;
	for (char *p = l->data, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		else
			*nl = '\0';
		if (*p) {
			if (l->n == cap) {
				cap = cap ? cap * 2 : 1024;
				l->line = xrealloc(l->line, cap * sizeof(*l->line));
			}
			l->line[l->n++] = p;
		}
		if (nl[1] == '\0')
			break;
	}
	if (l->n == 0)
		die(path, "no lines");
}

/* ---- kafka ------------------------------------------------------------------------------- */

struct kafka_run {
	const char *brokers, *topic;
	long n;
	int partitions;
	double done_at;
	long consumed;
	size_t bytes;
};

static rd_kafka_t *kafka_client(rd_kafka_type_t type, const char *brokers,
                                const char *const (*kv)[2])
{
	char es[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, es, sizeof(es)) !=
	    RD_KAFKA_CONF_OK)
		die("bootstrap.servers", es);
	for (; kv && (*kv)[0]; kv++)
		if (rd_kafka_conf_set(conf, (*kv)[0], (*kv)[1], es, sizeof(es)) != RD_KAFKA_CONF_OK)
			die((*kv)[0], es);
	rd_kafka_t *rk = rd_kafka_new(type, conf, es, sizeof(es));
	if (!rk)
		die("rd_kafka_new", es);
	return rk;
}

static void *kafka_consume(void *arg)
{
	struct kafka_run *r = arg;
	static const char *const kv[][2] = {{"group.id", "loadgen"},
	                                    {"enable.auto.commit", "false"},
	                                    {"fetch.wait.max.ms", "10"},
	                                    {NULL, NULL}};
	rd_kafka_t *rk = kafka_client(RD_KAFKA_CONSUMER, r->brokers, kv);
	rd_kafka_poll_set_consumer(rk);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(r->partitions);
	for (int p = 0; p < r->partitions; p++)
		rd_kafka_topic_partition_list_add(parts, r->topic, p)->offset =
		        RD_KAFKA_OFFSET_BEGINNING;
	if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("kafka", "assign failed");
	rd_kafka_topic_partition_list_destroy(parts);
	double deadline = now_s() + 300;
	while (r->consumed < r->n && now_s() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (!m)
			continue;
		if (!m->err) {
			r->consumed++;
			r->bytes += m->len;
		}
		rd_kafka_message_destroy(m);
	}
	r->done_at = now_s();
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return NULL;
}

static void run_kafka(const char *brokers, const char *topic, const char *input, long n)
{
	struct lines in;
	lines_read(input, &in);
	/* The services' producer settings (shared/kafka.c). */
	static const char *const kv[][2] = {
	        {"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "5"}, {NULL, NULL}};
	rd_kafka_t *rk = kafka_client(RD_KAFKA_PRODUCER, brokers, kv);
	struct kafka_run r = {.brokers = brokers, .topic = topic, .n = n};

	/* The first record creates the topic; its partitions are then known. */
	double t0 = now_s();
	if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
	                      RD_KAFKA_V_VALUE(in.line[0], strlen(in.line[0])),
	                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))
		die("kafka", "produce failed");
	rd_kafka_flush(rk, 10000);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 ||
	    md->topics[0].partition_cnt < 1)
		die("kafka", "no metadata for the topic");
	r.partitions = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);

	pthread_t consumer;
	pthread_create(&consumer, NULL, kafka_consume, &r);
	for (long i = 1; i < n; i++) {
		const char *v = in.line[i % (long)in.n];
		char key[32];
		int kl = snprintf(key, sizeof(key), "%ld", i);
		while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
		                         RD_KAFKA_V_KEY(key, (size_t)kl),
		                         RD_KAFKA_V_VALUE((void *)(uintptr_t)v, strlen(v)),
		                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		                         RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 10);
		rd_kafka_poll(rk, 0);
	}
	if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("kafka", "flush timed out");
	double produced = now_s() - t0;
	pthread_join(consumer, NULL);
	rd_kafka_destroy(rk);
	if (r.consumed < n)
		die("kafka", "records missing after 300 s");
	double secs = r.done_at - t0;
	printf("records=%ld partitions=%d bytes_per_record=%zu produce_seconds=%.3f seconds=%.3f "
	       "per_second=%.0f\n",
	       n, r.partitions, r.bytes / (size_t)n, produced, secs, (double)n / secs);
	free(in.line);
	free(in.data);
}

/* ---- pg ---------------------------------------------------------------------------------- */

static void pg_ok(PGconn *c, PGresult *res, const char *what)
{
	ExecStatusType s = PQresultStatus(res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_COPY_IN)
		die(what, PQerrorMessage(c));
	PQclear(res);
}

static void pg_sql(PGconn *c, const char *sql)
{
	pg_ok(c, PQexec(c, sql), sql);
}

/* The fields of row i, shaped like a collector.messages row of the pipeline's size. */
static void pg_row(long i, char id[32], char ext[32], char *record, size_t reclen)
{
	snprintf(id, 32, "bench:%ld", i);
	snprintf(ext, 32, "%ld", i);
	snprintf(record, reclen,
	         "{\"schema\":\"message.v1\",\"id\":\"bench:%ld\",\"source\":\"bench\","
	         "\"external_id\":\"%ld\",\"text\":\"Во дворе дома %ld по улице Ленина третий день "
	         "не вывозят мусор, контейнеры переполнены. Просим разобраться.\","
	         "\"posted_at\":\"2026-11-28T00:00:00Z\",\"received_at\":\"2026-11-28T00:00:01Z\"}",
	         i, i, i % 500);
}

static void run_pg(const char *url, long n, long batch)
{
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK)
		die("pg", PQerrorMessage(c));
	pg_sql(c, "SET client_min_messages = warning");
	static const char *const shape =
	        " (id text PRIMARY KEY, source text NOT NULL, external_id text NOT NULL, posted_at "
	        "timestamptz NOT NULL, received_at timestamptz NOT NULL, record jsonb NOT NULL)";
	char sql[512];
	for (int t = 0; t < 2; t++) {
		snprintf(sql, sizeof(sql),
		         "DROP TABLE IF EXISTS loadgen_%s; CREATE TABLE loadgen_%s%s",
		         t ? "insert" : "copy", t ? "insert" : "copy", shape);
		pg_sql(c, sql);
	}
	char id[32], ext[32], record[1024];

	double t0 = now_s();
	pg_ok(c, PQexec(c, "COPY loadgen_copy FROM STDIN"), "COPY");
	struct strbuf sb = {0};
	for (long i = 0; i < n; i++) {
		pg_row(i, id, ext, record, sizeof(record));
		strbuf_addf(&sb, "%s\tbench\t%s\t2026-11-28T00:00:00Z\t2026-11-28T00:00:01Z\t%s\n",
		            id, ext, record);
		if (sb.len > (1 << 20) || i == n - 1) {
			if (PQputCopyData(c, sb.buf, (int)sb.len) != 1)
				die("COPY", PQerrorMessage(c));
			sb_clear(&sb);
		}
	}
	if (PQputCopyEnd(c, NULL) != 1)
		die("COPY", PQerrorMessage(c));
	pg_ok(c, PQgetResult(c), "COPY");
	double copy_s = now_s() - t0;

	/* The collector's statement (services/collector/store.c), committed a batch at a time. */
	static const char *const insert =
	        "INSERT INTO loadgen_insert (id, source, external_id, posted_at, received_at, "
	        "record)"
	        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],"
	        " $5::timestamptz[], $6::jsonb[]) ON CONFLICT (id) DO NOTHING";
	char **cols[6];
	for (int k = 0; k < 6; k++)
		cols[k] = xcalloc((size_t)batch, sizeof(char *));
	t0 = now_s();
	for (long i = 0; i < n; i += batch) {
		long m = n - i < batch ? n - i : batch;
		for (long j = 0; j < m; j++) {
			pg_row(i + j, id, ext, record, sizeof(record));
			cols[0][j] = xstrdup(id);
			cols[1][j] = xstrdup("bench");
			cols[2][j] = xstrdup(ext);
			cols[3][j] = xstrdup("2026-11-28T00:00:00Z");
			cols[4][j] = xstrdup("2026-11-28T00:00:01Z");
			cols[5][j] = xstrdup(record);
		}
		char *params[6];
		for (int k = 0; k < 6; k++)
			params[k] = db_text_array((const char *const *)cols[k], (size_t)m);
		pg_sql(c, "BEGIN");
		pg_ok(c,
		      PQexecParams(c, insert, 6, NULL, (const char *const *)params, NULL, NULL, 0),
		      "INSERT");
		pg_sql(c, "COMMIT");
		for (int k = 0; k < 6; k++) {
			free(params[k]);
			for (long j = 0; j < m; j++)
				free(cols[k][j]);
		}
	}
	double insert_s = now_s() - t0;
	for (int k = 0; k < 6; k++)
		free(cols[k]);
	strbuf_release(&sb);
	pg_sql(c, "DROP TABLE loadgen_copy; DROP TABLE loadgen_insert");
	PQfinish(c);
	printf("rows=%ld batch=%ld copy_seconds=%.3f copy_per_second=%.0f insert_seconds=%.3f "
	       "insert_per_second=%.0f\n",
	       n, batch, copy_s, (double)n / copy_s, insert_s, (double)n / insert_s);
}

/* ---- http -------------------------------------------------------------------------------- */

struct http_run {
	const char *url;
	struct curl_slist *headers;
	struct lines in;
	long batch, batches;
	double rate, t0;
	atomic_long next;
	atomic_long accepted, rejected, refused_batches;
	atomic_flag told; /* the first rejection is shown, to say why */
};

static size_t http_body(char *p, size_t size, size_t n, void *arg)
{
	strbuf_add((struct strbuf *)arg, p, size * n);
	return size * n;
}

static void *http_worker(void *arg)
{
	struct http_run *r = arg;
	CURL *h = curl_easy_init();
	struct strbuf body = {0}, answer = {0};
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	for (;;) {
		long b = atomic_fetch_add(&r->next, 1);
		if (b >= r->batches)
			break;
		long first = b * r->batch;
		long m = r->in.n - (size_t)first < (size_t)r->batch ? (long)r->in.n - first
		                                                    : r->batch;
		if (r->rate > 0)
			sleep_until(r->t0 + (double)first / r->rate);
		sb_clear(&body);
		for (long i = first; i < first + m; i++) {
			strbuf_add(&body, r->in.line[i], strlen(r->in.line[i]));
			strbuf_add(&body, "\n", 1);
		}
		sb_clear(&answer);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.buf);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body.len);
		long code = 0;
		if (curl_easy_perform(h) == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		const char *acc = answer.buf ? strstr(answer.buf, "\"accepted\":") : NULL;
		const char *rej = answer.buf ? strstr(answer.buf, "\"rejected\":") : NULL;
		if (code == 202 && acc)
			atomic_fetch_add(&r->accepted, strtol(acc + 11, NULL, 10));
		else
			atomic_fetch_add(&r->refused_batches, 1);
		long bad = rej ? strtol(rej + 11, NULL, 10) : 0;
		atomic_fetch_add(&r->rejected, bad);
		if ((bad > 0 || code != 202) && !atomic_flag_test_and_set(&r->told))
			fprintf(stderr, "loadgen: HTTP %ld: %.600s\n", code,
			        answer.buf ? answer.buf : "");
	}
	strbuf_release(&body);
	strbuf_release(&answer);
	curl_easy_cleanup(h);
	return NULL;
}

static void run_http(const char *url, const char *token, const char *input, long batch, int conns,
                     double rate)
{
	struct http_run r = {.url = url, .batch = batch, .rate = rate, .told = ATOMIC_FLAG_INIT};
	lines_read(input, &r.in);
	r.batches = ((long)r.in.n + batch - 1) / batch;
	char auth[512];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	r.headers = curl_slist_append(NULL, auth);
	r.headers = curl_slist_append(r.headers, "Content-Type: application/x-ndjson");
	r.headers = curl_slist_append(r.headers, "Expect:");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_t *t = xcalloc((size_t)conns, sizeof(*t));
	r.t0 = now_s();
	for (int i = 0; i < conns; i++)
		pthread_create(&t[i], NULL, http_worker, &r);
	for (int i = 0; i < conns; i++)
		pthread_join(t[i], NULL);
	double secs = now_s() - r.t0;
	printf("items=%zu batch=%ld connections=%d accepted=%ld rejected=%ld refused_batches=%ld "
	       "seconds=%.3f per_second=%.0f\n",
	       r.in.n, batch, conns, (long)r.accepted, (long)r.rejected, (long)r.refused_batches,
	       secs, (double)r.accepted / secs);
	free(t);
	curl_slist_free_all(r.headers);
	curl_global_cleanup();
	free(r.in.line);
	free(r.in.data);
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "kafka") == 0)
		run_kafka(argv[2], argv[3], argv[4], atol(argv[5]));
	else if (argc == 5 && strcmp(argv[1], "pg") == 0)
		run_pg(argv[2], atol(argv[3]), atol(argv[4]));
	else if ((argc == 7 || argc == 8) && strcmp(argv[1], "http") == 0)
		run_http(argv[2], argv[3], argv[4], atol(argv[5]), atoi(argv[6]),
		         argc == 8 ? atof(argv[7]) : 0);
	else {
		fprintf(stderr, "usage: loadgen kafka BROKERS TOPIC INPUT N\n"
		                "       loadgen pg URL N BATCH\n"
		                "       loadgen http URL TOKEN INPUT BATCH CONNECTIONS [RATE]\n");
		return 2;
	}
	return 0;
}
