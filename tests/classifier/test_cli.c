/*
 * Tests of the offline commands as a user runs them (in-process, stdout and stderr captured):
 * train with and without cross-validation on the test corpus (CSV and NDJSON), every usage
 * error, eval's figures and per-label table (labels unknown to the model included), and
 * classify's output lines, its error lines for bad input, --top and --stats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classified.h"
#include "cli.h"
#include "model.h"
#include "xalloc.h"

#define CORPUS_CSV "tests/classifier/data/corpus.csv"
#define CORPUS_NDJSON "tests/classifier/data/corpus.ndjson"
#define MESSAGES "tests/classifier/data/messages.ndjson"
/* The project's own labelled corpus, the one the shipped models learn from. */
#define PROJECT_CORPUS "services/classifier/data/corpus.ndjson"
#define DEMO "deploy/demo/khakassia_posts.ndjson"

struct env {
	char dir[64];
	char model[128]; /* trained once by the first test */
	/* The shipped models and region pack as the build installs them. */
	char model_dir[512], region_dir[512];
};

static int setup(void **state)
{
	struct env *e = xcalloc(1, sizeof(*e));
	const char *bin;

	snprintf(e->dir, sizeof(e->dir), "/tmp/test_cli.XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->model, sizeof(e->model), "%s/topic.model", e->dir);
	bin = getenv("TEST_BIN_DIR") ? getenv("TEST_BIN_DIR") : "build/dev/bin";
	snprintf(e->model_dir, sizeof(e->model_dir), "%s/../share/classifier", bin);
	snprintf(e->region_dir, sizeof(e->region_dir), "%s/../share/regions/khakassia", bin);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd) != 0)
		return -1;
	free(e);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *s;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = xmalloc((size_t)n + 1);
	assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	fclose(fp);
	return s;
}

struct run {
	int rc;
	char *out, *err;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Runs fn(argv) with stdin from in_path (NULL: /dev/null) and stdout/stderr captured. */
static struct run run_cli(const struct env *e, int (*fn)(int, char **), const char *in_path,
                          const char *const *args)
{
	char out_path[128], err_path[128];
	char *argv[32];
	int argc = 0, saved[3], fd;
	struct run r;

	while (args[argc]) {
		argv[argc] = (char *)(uintptr_t)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	snprintf(out_path, sizeof(out_path), "%s/out", e->dir);
	snprintf(err_path, sizeof(err_path), "%s/err", e->dir);
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++)
		saved[i] = dup(i);
	fd = open(in_path ? in_path : "/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	dup2(fd, 0);
	close(fd);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	clearerr(stdin);
	r.rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++) {
		dup2(saved[i], i);
		close(saved[i]);
	}
	clearerr(stdin);
	r.out = slurp(out_path);
	r.err = slurp(err_path);
	return r;
}

static void expect_in(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("\"%s\" not in:\n%s", want, text);
}

/* The number after `label` in text. */
static double number_after(const char *text, const char *label)
{
	const char *p = strstr(text, label);

	if (!p)
		fail_msg("\"%s\" not in:\n%s", label, text);
	return strtod(p + strlen(label), NULL);
}

static void test_train(void **state)
{
	struct env *e = *state;
	char err[256], other[160];
	struct model *m;
	struct run r;
	double acc;

	r = run_cli(e, cli_train, NULL,
	            (const char *[]){"train", "--input", CORPUS_CSV, "--text-column", "text",
	                             "--label-column", "topic", "--folds", "3", "--out", e->model,
	                             NULL});
	assert_int_equal(r.rc, 0);
	expect_in(r.out, "records: 36 from " CORPUS_CSV "\n");
	expect_in(r.out, "labels: 3; features: 2^18 buckets, stems, stem bigrams, number shapes, "
	                 "char 4-5-grams x0.3\n");
	expect_in(r.out, "training: one-vs-rest linear SVM, C 2,");
	expect_in(r.out, "fold 3/3: accuracy ");
	acc = number_after(r.out, "cross-validation, 3 stratified folds: accuracy ");
	assert_true(acc >= 0.75 && acc <= 1.0);
	assert_true(number_after(r.out, "macro-F1 ") >= 0.7);
	assert_true(number_after(r.out, "probability scale fitted on the held-out scores: ") > 0.0);
	expect_in(r.out, "model: trained on all 36 records in ");
	run_free(&r);
	m = model_load(e->model, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(model_label_count(m), 3);
	assert_string_equal(model_label(m, 0), "heating");
	assert_string_equal(model_label(m, 2), "waste");
	assert_true(model_prob_scale(m) != MODEL_SVM_PROB_SCALE);
	model_free(m);

	/* NDJSON, no cross-validation, other settings: they reach the model. */
	snprintf(other, sizeof(other), "%s/other.model", e->dir);
	r = run_cli(e, cli_train, NULL,
	            (const char *[]){"train", "--input=" CORPUS_NDJSON, "--label-column=topic",
	                             "--folds", "0", "--bits", "12", "--chars", "0", "--no-bigrams",
	                             "--loss", "softmax", "--epochs", "5", "--quant", "f32",
	                             "--out", other, NULL});
	assert_int_equal(r.rc, 0);
	assert_null(strstr(r.out, "cross-validation"));
	expect_in(r.out, "features: 2^12 buckets, stems, number shapes, no char n-grams\n");
	expect_in(r.out, "training: softmax regression, 5 epochs");
	run_free(&r);
	m = model_load(other, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(model_features(m)->bits, 12);
	assert_int_equal(model_features(m)->char_max, 0);
	assert_false(model_features(m)->bigrams);
	assert_int_equal(model_loss(m), MODEL_LOSS_SOFTMAX);
	assert_int_equal(model_quantization(m), MODEL_QUANT_F32);
	model_free(m);
}

static void expect_train_fails(const struct env *e, int rc, const char *want,
                               const char *const *args)
{
	struct run r = run_cli(e, cli_train, NULL, args);

	assert_int_equal(r.rc, rc);
	expect_in(r.err, want);
	run_free(&r);
}

static void test_train_usage(void **state)
{
	struct env *e = *state;
	char one[160];
	FILE *fp;

	expect_train_fails(e, 2, "--input and --out are required",
	                   (const char *[]){"train", "--out", "x", NULL});
	expect_train_fails(
	        e, 2, "--bits must be an integer in 10..24, not \"99\"",
	        (const char *[]){"train", "--input", "x", "--out", "y", "--bits", "99", NULL});
	expect_train_fails(
	        e, 2, "--folds must be 0 (none) or at least 2",
	        (const char *[]){"train", "--input", "x", "--out", "y", "--folds", "1", NULL});
	expect_train_fails(
	        e, 2, "--chars must be MIN-MAX",
	        (const char *[]){"train", "--input", "x", "--out", "y", "--chars", "5-3", NULL});
	expect_train_fails(
	        e, 2, "--c must be a number",
	        (const char *[]){"train", "--input", "x", "--out", "y", "--c", "-1", NULL});
	expect_train_fails(e, 2, "unknown option --frobnicate",
	                   (const char *[]){"train", "--frobnicate", NULL});
	expect_train_fails(e, 2, "--out needs a value",
	                   (const char *[]){"train", "--input", "x", "--out", NULL});
	expect_train_fails(e, 2, "--no-bigrams takes no value",
	                   (const char *[]){"train", "--no-bigrams=1", NULL});
	expect_train_fails(
	        e, 2, "--loss must be softmax or svm",
	        (const char *[]){"train", "--input", "x", "--out", "y", "--loss", "tree", NULL});
	expect_train_fails(
	        e, 2, "--quant must be i8, i16 or f32",
	        (const char *[]){"train", "--input", "x", "--out", "y", "--quant", "i4", NULL});
	expect_train_fails(e, 1, "tests/classifier/data/nope.csv: cannot open",
	                   (const char *[]){"train", "--input", "tests/classifier/data/nope.csv",
	                                    "--out", "y", NULL});
	expect_train_fails(e, 1, "no column \"category\" in the header (it has: id, text, topic)",
	                   (const char *[]){"train", "--input", CORPUS_CSV, "--label-column",
	                                    "category", "--out", "y", NULL});
	snprintf(one, sizeof(one), "%s/one.ndjson", e->dir);
	fp = fopen(one, "w");
	assert_non_null(fp);
	fputs("{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\"label\":\"x\"}\n", fp);
	fclose(fp);
	expect_train_fails(e, 1, "1 distinct labels in \"label\", training needs at least 2",
	                   (const char *[]){"train", "--input", one, "--out", "y", NULL});
}

/* A row of eval's table as it prints it. */
static const char *table_row(char *buf, size_t len, const char *label, double p, double r,
                             double f1, int support)
{
	snprintf(buf, len, "%-40s %9.4f %9.4f %9.4f %9d\n", label, p, r, f1, support);
	return buf;
}

static void test_eval(void **state)
{
	struct env *e = *state;
	char mixed[160], row[160];
	const char *table;
	struct run r;
	FILE *fp;

	r = run_cli(e, cli_eval, NULL,
	            (const char *[]){"eval", "--model", e->model, "--input", CORPUS_NDJSON,
	                             "--label-column", "topic", NULL});
	assert_int_equal(r.rc, 0);
	expect_in(r.out, "records: 36 from " CORPUS_NDJSON "\n");
	expect_in(r.out, "(version ");
	/* Trained on these very texts: all right. */
	expect_in(r.out, "accuracy 1.0000, macro-F1 1.0000 over 36 records\n");
	table = strstr(r.out, "label ");
	assert_non_null(table);
	expect_in(table, "precision    recall        f1   support\n");
	expect_in(table, table_row(row, sizeof(row), "heating", 1, 1, 1, 12));
	expect_in(table, table_row(row, sizeof(row), "waste", 1, 1, 1, 12));
	run_free(&r);

	/* A label the model does not know counts as an error and has a row; rows by support. */
	snprintf(mixed, sizeof(mixed), "%s/mixed.ndjson", e->dir);
	fp = fopen(mixed, "w");
	assert_non_null(fp);
	fputs("{\"text\":\"Нет отопления, батареи холодные\",\"topic\":\"heating\"}\n"
	      "{\"text\":\"Батареи холодные\",\"topic\":\"heating\"}\n"
	      "{\"text\":\"Яма на дороге\",\"topic\":\"roads\"}\n"
	      "{\"text\":\"Громкая музыка ночью\",\"topic\":\"noise\"}\n",
	      fp);
	fclose(fp);
	r = run_cli(e, cli_eval, NULL,
	            (const char *[]){"eval", "--model", e->model, "--input", mixed,
	                             "--label-column", "topic", NULL});
	assert_int_equal(r.rc, 0);
	expect_in(r.out, "labels unknown to the model: 1 (their records count as errors)\n");
	expect_in(r.out, "accuracy 0.7500, ");
	table = strstr(r.out, "support\n");
	assert_non_null(table);
	assert_true(strstr(table, "heating") < strstr(table, "noise"));
	assert_true(strstr(table, "noise") < strstr(table, "roads"));
	expect_in(table, table_row(row, sizeof(row), "noise", 0, 0, 0, 1));
	run_free(&r);

	r = run_cli(e, cli_eval, NULL, (const char *[]){"eval", "--model", e->model, NULL});
	assert_int_equal(r.rc, 2);
	expect_in(r.err, "--input is required");
	run_free(&r);
	r = run_cli(e, cli_eval, NULL,
	            (const char *[]){"eval", "--decision", "--model", e->model, "--input", mixed,
	                             NULL});
	assert_int_equal(r.rc, 2);
	expect_in(r.err, "--decision scores the shipped decision; --model one model");
	run_free(&r);
	r = run_cli(e, cli_eval, NULL,
	            (const char *[]){"eval", "--model", CORPUS_CSV, "--input", mixed, NULL});
	assert_int_equal(r.rc, 1);
	expect_in(r.err, CORPUS_CSV ": not a classifier model");
	run_free(&r);
}

static void test_classify(void **state)
{
	struct env *e = *state;
	static const char *const want_label[] = {"heating", "roads", "waste"};
	struct run r;
	char *line, *save = NULL;
	int results = 0, errors = 0;

	r = run_cli(e, cli_classify, MESSAGES,
	            (const char *[]){"classify", "--model", e->model, "--stats", NULL});
	assert_int_equal(r.rc, 0);
	expect_in(r.err, "classified 3 texts (2 bad lines) in ");
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		if (!o)
			fail_msg("not JSON: %s", line);
		if (json_object_get(o, "error")) {
			/* Line 2 is not JSON; line 4 has no text; line 5 is blank and skipped. */
			int64_t ln = json_integer_value(json_object_get(o, "line"));
			assert_true(ln == 2 || ln == 4);
			assert_string_equal(json_string_value(json_object_get(o, "field")),
			                    ln == 2 ? "" : "text");
			errors++;
		} else {
			const json_t *scores = json_object_get(o, "scores"), *top;
			const char *label = json_string_value(json_object_get(o, "label"));
			double sum = 0.0, score = json_real_value(json_object_get(o, "score"));
			const char *k;
			json_t *v;
			char id[16];
			snprintf(id, sizeof(id), "test:%d", results + 1);
			assert_string_equal(json_string_value(json_object_get(o, "id")), id);
			assert_string_equal(label, want_label[results]);
			assert_int_equal(json_object_size(scores), 3);
			json_object_foreach((json_t *)(uintptr_t)scores, k, v)
			{
				sum += json_real_value(v);
				assert_true(json_real_value(v) <= score);
			}
			assert_true(fabs(sum - 1.0) < 0.01);
			assert_true(fabs(json_real_value(json_object_get(scores, label)) - score) <
			            1e-9);
			top = json_object_get(o, "top_features");
			assert_true(json_array_size(top) > 0 && json_array_size(top) <= 5);
			for (size_t i = 0; i < json_array_size(top); i++) {
				const json_t *f = json_array_get(top, i);
				assert_non_null(json_string_value(json_object_get(f, "feature")));
				assert_true(json_real_value(json_object_get(f, "weight")) > 0.0);
			}
			assert_int_equal(strlen(json_string_value(json_object_get(o, "model"))),
			                 16);
			results++;
		}
		json_decref(o);
	}
	assert_int_equal(results, 3);
	assert_int_equal(errors, 2);
	run_free(&r);

	/* No explanations asked for. */
	r = run_cli(e, cli_classify, MESSAGES,
	            (const char *[]){"classify", "--model", e->model, "--top", "0", NULL});
	assert_int_equal(r.rc, 0);
	expect_in(r.out, "\"top_features\":[],");
	assert_null(strstr(r.err, "classified"));
	run_free(&r);

	r = run_cli(e, cli_classify, MESSAGES,
	            (const char *[]){"classify", "--model", e->model, "--top", "99", NULL});
	assert_int_equal(r.rc, 2);
	expect_in(r.err, "--top must be an integer in 0..32");
	run_free(&r);
	r = run_cli(e, cli_classify, MESSAGES, (const char *[]){"classify", "--model", NULL});
	assert_int_equal(r.rc, 2);
	expect_in(r.err, "--model needs a value");
	run_free(&r);
	r = run_cli(e, cli_classify, MESSAGES,
	            (const char *[]){"classify", "--model", "/nonexistent.model", NULL});
	assert_int_equal(r.rc, 1);
	expect_in(r.err, "/nonexistent.model: cannot open");
	run_free(&r);
}

/* The full decision, as the service makes it: classified.v1 lines, error lines for bad input. */
static void test_classify_decision(void **state)
{
	struct env *e = *state;
	static const char *const want_topic[] = {"housing", "roads", "waste"};
	char *line, *save = NULL;
	int results = 0, errors = 0;
	struct run r;

	r = run_cli(e, cli_classify, MESSAGES,
	            (const char *[]){"classify", "--model-dir", e->model_dir, "--region-dir",
	                             e->region_dir, "--stats", NULL});
	assert_int_equal(r.rc, 0);
	expect_in(r.err, "classified 3 messages (2 bad lines) in ");
	expect_in(r.err, " messages/s; per message: decoding ");
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct classified c;
		struct field_error fe;
		char id[16];
		if (strstr(line, "\"error\"")) {
			assert_true(strstr(line, "{\"line\":2,") == line ||
			            strstr(line, "{\"line\":4,") == line);
			errors++;
			continue;
		}
		if (classified_decode_bytes(line, strlen(line), &c, &fe) < 0)
			fail_msg("not classified.v1 (%s: %s): %s", fe.field, fe.message, line);
		snprintf(id, sizeof(id), "test:%d", results + 1);
		assert_string_equal(c.message.id, id);
		assert_string_equal(c.c.topic, want_topic[results]);
		assert_true(c.c.incident);
		assert_int_equal(json_object_size(c.c.scores), 15);
		assert_true(json_array_size(c.c.top_features) > 0 &&
		            json_array_size(c.c.top_features) <= 5);
		assert_non_null(strchr(c.c.model_version, '.'));
		classified_clear(&c);
		results++;
	}
	assert_int_equal(results, 3);
	assert_int_equal(errors, 2);
	run_free(&r);

	r = run_cli(e, cli_classify, MESSAGES, (const char *[]){"classify", "--top", "3", NULL});
	assert_int_equal(r.rc, 2);
	expect_in(r.err, "--top goes with --model");
	run_free(&r);
	r = run_cli(e, cli_classify, MESSAGES,
	            (const char *[]){"classify", "--model-dir", "/nonexistent", "--region-dir",
	                             e->region_dir, NULL});
	assert_int_equal(r.rc, 1);
	expect_in(r.err, "/nonexistent/incident.model: cannot open");
	run_free(&r);
}

static const char *const decision_columns[] = {"topic", "incident", "municipality", "urgency"};

/* The project's corpus as message.v1 lines (text alone) into path, each record's labels into
 * labels[i][k] in decision_columns order (NULL where it has none). Returns the count. */
static size_t corpus_messages(const char *path, char *(*labels)[4], size_t max)
{
	char *data = slurp(PROJECT_CORPUS), *line, *save = NULL;
	FILE *fp = fopen(path, "w");
	size_t n = 0;

	assert_non_null(fp);
	for (line = strtok_r(data, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		json_error_t je;
		json_t *rec = json_loads(line, 0, &je), *msg;
		char *out, id[32];
		assert_non_null(rec);
		for (size_t k = 0; k < 4; k++) {
			json_t *v = json_object_get(rec, decision_columns[k]);
			labels[n][k] = json_is_string(v) ? xstrdup(json_string_value(v))
			               : json_is_boolean(v)
			                       ? xstrdup(json_is_true(v) ? "true" : "false")
			                       : NULL;
		}
		snprintf(id, sizeof(id), "%zu", n + 1);
		msg = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:s}", "schema", "message.v1", "id",
		                id, "source", "corpus", "external_id", id, "text",
		                json_object_get(rec, "text"), "posted_at", "2026-11-28T00:00:00Z",
		                "received_at", "2026-11-28T00:00:00Z");
		assert_non_null(msg);
		out = json_dumps(msg, JSON_COMPACT);
		fprintf(fp, "%s\n", out);
		free(out);
		json_decref(msg);
		json_decref(rec);
		n++;
	}
	fclose(fp);
	free(data);
	return n;
}

/* eval --decision's figures are those of `classify` over the same texts, column by column. */
static void test_eval_decision(void **state)
{
	enum { MAX = 4000 };
	struct env *e = *state;
	char msgs[160], none[160], want[160], *line, *save = NULL;
	char *(*labels)[4] = xcalloc(MAX, sizeof(*labels));
	size_t hits[4] = {0}, scored[4] = {0}, n, i = 0;
	struct run r;
	FILE *fp;

	snprintf(msgs, sizeof(msgs), "%s/corpus_messages.ndjson", e->dir);
	n = corpus_messages(msgs, labels, MAX);
	assert_true(n > 1000);
	r = run_cli(e, cli_classify, msgs,
	            (const char *[]){"classify", "--model-dir", e->model_dir, "--region-dir",
	                             e->region_dir, NULL});
	assert_int_equal(r.rc, 0);
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
		struct classified c;
		struct field_error fe;
		const char *got[4];
		assert_true(i < n);
		if (classified_decode_bytes(line, strlen(line), &c, &fe) < 0)
			fail_msg("%s: %s", fe.field, fe.message);
		got[0] = c.c.topic;
		got[1] = c.c.incident ? "true" : "false";
		got[2] = c.c.municipality ? c.c.municipality : "none";
		got[3] = c.c.urgency;
		for (size_t k = 0; k < 4; k++)
			if (labels[i][k]) {
				scored[k]++;
				hits[k] += strcmp(labels[i][k], got[k]) == 0;
			}
		classified_clear(&c);
	}
	assert_int_equal(i, n);
	run_free(&r);

	r = run_cli(e, cli_eval, NULL,
	            (const char *[]){"eval", "--decision", "--input", PROJECT_CORPUS, "--model-dir",
	                             e->model_dir, "--region-dir", e->region_dir, NULL});
	assert_int_equal(r.rc, 0);
	snprintf(want, sizeof(want), "records: %zu texts from " PROJECT_CORPUS ", each decided", n);
	expect_in(r.out, want);
	for (size_t k = 0; k < 4; k++) {
		char label[64];
		double acc;
		snprintf(label, sizeof(label), "%s (column \"%s\"): accuracy ", decision_columns[k],
		         decision_columns[k]);
		acc = number_after(r.out, label);
		if (fabs(acc - (double)hits[k] / (double)scored[k]) > 0.00005)
			fail_msg("%s: eval says %.4f, classify's output %zu of %zu",
			         decision_columns[k], acc, hits[k], scored[k]);
		snprintf(want, sizeof(want), " over %zu records\n", scored[k]);
		expect_in(strstr(r.out, label), want);
	}
	/* The municipality is scored where the corpus names one: not everywhere. */
	assert_true(scored[2] > 0 && scored[2] < n);
	/* The shipped incident model learnt from these very texts. */
	assert_true(number_after(r.out, "incident (column \"incident\"): accuracy ") > 0.95);
	run_free(&r);

	/* A file with a topic column alone: the others are named, not scored. */
	r = run_cli(e, cli_eval, NULL,
	            (const char *[]){"eval", "--decision", "--input", CORPUS_CSV, "--model-dir",
	                             e->model_dir, "--region-dir", e->region_dir, NULL});
	assert_int_equal(r.rc, 0);
	expect_in(r.out, "topic (column \"topic\"): accuracy ");
	expect_in(r.out, " over 36 records\n");
	expect_in(r.out, "incident: not scored (" CORPUS_CSV " has no column \"incident\")\n");
	expect_in(r.out, "urgency: not scored (");
	run_free(&r);
	r = run_cli(e, cli_eval, NULL,
	            (const char *[]){"eval", "--decision", "--input", PROJECT_CORPUS, "--model-dir",
	                             e->model_dir, "--region-dir", e->region_dir,
	                             "--municipality-column", "-", "--label-column", "urgency",
	                             NULL});
	assert_int_equal(r.rc, 0);
	expect_in(r.out, "municipality: not scored (not asked for)\n");
	/* The topic scored against another column's labels: nothing right. */
	expect_in(r.out, "topic (column \"urgency\"): accuracy 0.0000, ");
	run_free(&r);

	/* The demo stream: labels nested under "expect", the community's name read when asked
	 * for, which is how most of its posts name their town. */
	for (int with = 0; with < 2; with++) {
		static double without;
		double acc;
		r = run_cli(e, cli_eval, NULL,
		            (const char *[]){"eval", "--decision", "--input", DEMO, "--model-dir",
		                             e->model_dir, "--region-dir", e->region_dir,
		                             "--label-column", "expect.topic", "--incident-column",
		                             "expect.incident", "--municipality-column",
		                             "expect.municipality", "--urgency-column",
		                             "expect.urgency", "--community-column",
		                             with ? "community.name" : "-", NULL});
		assert_int_equal(r.rc, 0);
		expect_in(r.out, with ? "its community's name (column \"community.name\")"
		                      : "from its text alone");
		expect_in(r.out, "incident (column \"expect.incident\"): accuracy ");
		acc = number_after(r.out,
		                   "municipality (column \"expect.municipality\"): accuracy ");
		if (with)
			assert_true(acc > without + 0.2);
		without = acc;
		run_free(&r);
	}

	snprintf(none, sizeof(none), "%s/none.ndjson", e->dir);
	fp = fopen(none, "w");
	assert_non_null(fp);
	fputs("{\"text\":\"Яма на дороге\",\"label\":\"roads\"}\n", fp);
	fclose(fp);
	r = run_cli(e, cli_eval, NULL,
	            (const char *[]){"eval", "--decision", "--input", none, "--model-dir",
	                             e->model_dir, NULL});
	assert_int_equal(r.rc, 1);
	expect_in(r.err, "has none of the columns topic, incident, municipality, urgency");
	run_free(&r);
	r = run_cli(e, cli_eval, NULL,
	            (const char *[]){"eval", "--decision", "--input", CORPUS_CSV, "--model-dir",
	                             "/nonexistent", NULL});
	assert_int_equal(r.rc, 1);
	expect_in(r.err, "/nonexistent/incident.model: cannot open");
	run_free(&r);

	for (size_t j = 0; j < n; j++)
		for (size_t k = 0; k < 4; k++)
			free(labels[j][k]);
	free(labels);
}

int main(void)
{
	/* In order: the later tests use the model the first one trains. */
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_train),
	        cmocka_unit_test(test_train_usage),
	        cmocka_unit_test(test_eval),
	        cmocka_unit_test(test_classify),
	        cmocka_unit_test(test_classify_decision),
	        cmocka_unit_test(test_eval_decision),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
