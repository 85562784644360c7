/*
 * Unit tests of the CSV reader and the labelled-records loader: RFC 4180 quoting (commas,
 * doubled quotes, line breaks inside quotes), CRLF/LF/CR rows, BOM, blank lines, the lenient
 * bare quote, every syntax error with the right line, columns by name, skipped records, NDJSON
 * labels of every type and its errors, format choice by name and by content, and the files in
 * tests/classifier/data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "xalloc.h"

/* All rows of data, each as its fields joined with '|' and rows with '\n'; on an error, "ERR "
 * and the message. Caller frees. */
static char *rows_of(const char *data, size_t len)
{
	struct csv_reader *r = csv_reader_new(data, len);
	const struct csv_field *f;
	size_t nf, used = 0, cap = 4 * len + 300;
	char *out = xmalloc(cap), err[200];
	int rc;

	out[0] = '\0';
	while ((rc = csv_next(r, &f, &nf, err, sizeof(err))) > 0) {
		for (size_t i = 0; i < nf; i++) {
			assert_int_equal(strlen(f[i].s), f[i].len);
			used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "|" : "",
			                         f[i].s);
		}
		used += (size_t)snprintf(out + used, cap - used, "@%zu\n", csv_line(r));
	}
	if (rc < 0)
		snprintf(out + used, cap - used, "ERR %s", err);
	csv_reader_free(r);
	return out;
}

static void expect_rows(const char *in, const char *want)
{
	char *got = rows_of(in, strlen(in));

	if (strcmp(got, want) != 0)
		fail_msg("rows of \"%s\"\n  got  \"%s\"\n  want \"%s\"", in, got, want);
	free(got);
}

static void test_rfc4180(void **state)
{
	(void)state;
	expect_rows("a,b,c\r\n1,2,3\r\n", "a|b|c@1\n1|2|3@2\n");
	expect_rows("a,b\n1,2", "a|b@1\n1|2@2\n");
	expect_rows("a,b\r1,2\r", "a|b@1\n1|2@2\n");
	expect_rows("\"x, y\",\"say \"\"hi\"\"\",\"\"\n", "x, y|say \"hi\"|@1\n");
	/* A quoted line break: the next row starts two lines further. */
	expect_rows("t,l\n\"one\ntwo\r\nthree\",x\nnext,y\n",
	            "t|l@1\none\ntwo\r\nthree|x@2\nnext|y@5\n");
	/* Empty fields, a trailing comma, blank lines. */
	expect_rows(",,\n\n\r\na,\n", "||@1\na|@4\n");
	/* A quote inside an unquoted field is taken as it is. */
	expect_rows("5\" pipe,ok\n", "5\" pipe|ok@1\n");
	expect_rows("", "");
	expect_rows("\n\n", "");
	/* Multi-byte UTF-8 passes through. */
	expect_rows("текст,метка\n\"Нет воды, совсем\",жкх\n",
	            "текст|метка@1\nНет воды, совсем|жкх@2\n");
}

static void test_syntax_errors_name_the_line(void **state)
{
	(void)state;
	expect_rows("a,b\n1,\"open\nstill open\n",
	            "a|b@1\nERR line 2: the quoted field opened here is not closed");
	expect_rows("a,b\n\"x\"y,1\n", "a|b@1\nERR line 2: 'y' after a closing quote (a quote "
	                               "inside a quoted field is written \"\")");
	expect_rows("a\n\"multi\nline\"z\n", "a@1\nERR line 3: 'z' after a closing quote (a quote "
	                                     "inside a quoted field is written \"\")");
}

static void test_no_terminator_needed(void **state)
{
	static const char *const cuts[] = {"a,b", "\"a\"", "\"a", "a,\"b\"\"", "\"\""};

	(void)state;
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t len = strlen(cuts[i]);
		char *exact = xmalloc(len);
		memcpy(exact, cuts[i], len);
		free(rows_of(exact, len));
		free(exact);
	}
}

/* ---- records ------------------------------------------------------------------------------- */

static void load(const char *data, enum records_format fmt, struct records *r)
{
	char err[300];

	if (records_load_mem(data, strlen(data), fmt, "mem", "text", "label", r, err, sizeof(err)) <
	    0)
		fail_msg("records_load_mem: %s", err);
}

/* -1 for an error, -2 when the label column is not there at all. */
static void expect_load_fails(const char *data, enum records_format fmt, int rc, const char *want)
{
	struct records r;
	char err[300] = "";

	assert_int_equal(records_load_mem(data, strlen(data), fmt, "mem", "text", "label", &r, err,
	                                  sizeof(err)),
	                 rc);
	assert_int_equal(r.n, 0);
	assert_null(r.text);
	if (strcmp(err, want) != 0)
		fail_msg("error\n  got  \"%s\"\n  want \"%s\"", err, want);
}

static void expect_load_error(const char *data, enum records_format fmt, const char *want)
{
	expect_load_fails(data, fmt, -1, want);
}

static void test_csv_records(void **state)
{
	struct records r;

	(void)state;
	load("\xEF\xBB\xBFid,label,text\r\n1,roads,Яма\r\n2, waste ,\"Мусор, опять\"\r\n3,,без "
	     "метки\r\n4,roads,\r\n",
	     RECORDS_AUTO, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.text[0], "Яма");
	assert_string_equal(r.label[0], "roads");
	assert_string_equal(r.text[1], "Мусор, опять");
	assert_string_equal(r.label[1], "waste"); /* white space around a label dropped */
	assert_int_equal(r.line[1], 3);
	assert_int_equal(r.skipped, 2);
	assert_int_equal(r.first_skipped, 4);
	records_clear(&r);
	assert_int_equal(r.n, 0);

	/* No label column at all is told apart (-2): eval --decision skips such a column. */
	expect_load_fails("id,text\n1,x\n", RECORDS_CSV, -2,
	                  "mem: no column \"label\" in the header (it has: id, text)");
	expect_load_error("id,label\n1,x\n", RECORDS_CSV,
	                  "mem: no column \"text\" in the header (it has: id, label)");
	expect_load_error("", RECORDS_CSV, "mem: empty: no header row");
	expect_load_error("text,label\nx,y\nx,y,z\n", RECORDS_CSV,
	                  "mem: line 3: 3 fields, the header has 2");
	expect_load_error("text,label\nx,\xff\n", RECORDS_CSV,
	                  "mem: line 2: \"label\" is not valid UTF-8 (byte 0)");
	expect_load_error("text,label\n\"x\n", RECORDS_CSV,
	                  "mem: line 2: the quoted field opened here is not closed");
}

static void test_ndjson_records(void **state)
{
	struct records r;
	const char *nested;
	char err[300];

	(void)state;
	load("{\"text\":\"Нет воды\",\"label\":\"housing\"}\n"
	     "\n"
	     "{\"text\":\"Яма\",\"label\":7}\r\n"
	     "{\"text\":\"Пожар\",\"label\":true}\n"
	     "{\"text\":\"Всё хорошо\",\"label\":false,\"extra\":[1]}\n"
	     "{\"text\":\"нет метки\"}\n"
	     "{\"text\":null,\"label\":\"x\"}\n"
	     "{\"text\":\"пустая\",\"label\":\"  \"}",
	     RECORDS_AUTO, &r);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.label[0], "housing");
	assert_string_equal(r.label[1], "7");
	assert_string_equal(r.label[2], "true");
	assert_string_equal(r.label[3], "false");
	assert_string_equal(r.text[3], "Всё хорошо");
	assert_int_equal(r.line[1], 3);
	assert_int_equal(r.skipped, 3);
	assert_int_equal(r.first_skipped, 6);
	records_clear(&r);

	expect_load_error(
	        "{\"text\":\"x\",\"label\":\"y\"}\n{\"text\":\"x\",\n", RECORDS_NDJSON,
	        "mem: line 2: invalid JSON at column 12: string or '}' expected near end of "
	        "file");
	expect_load_error("[1,2]\n", RECORDS_NDJSON, "mem: line 1: not a JSON object");
	/* A dotted column is a path into nested objects, unless a member has that very name. */
	nested = "{\"text\":\"x\",\"expect\":{\"topic\":\"roads\"}}\n"
	         "{\"text\":\"y\",\"expect.topic\":\"waste\"}\n"
	         "{\"text\":\"z\",\"expect\":\"flat\"}\n";
	assert_int_equal(records_load_mem(nested, strlen(nested), RECORDS_NDJSON, "mem", "text",
	                                  "expect.topic", &r, err, sizeof(err)),
	                 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.label[0], "roads");
	assert_string_equal(r.label[1], "waste");
	assert_int_equal(r.skipped, 1);
	records_clear(&r);
	/* A label member in no record: -2; in some records only: those are skipped. */
	expect_load_fails("{\"text\":\"x\",\"topic\":\"y\"}\n{\"text\":\"z\"}\n", RECORDS_NDJSON,
	                  -2, "mem: no record has \"label\"");
	load("{\"text\":\"x\",\"label\":null}\n{\"text\":\"z\"}\n", RECORDS_NDJSON, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.skipped, 2);
	records_clear(&r);
	expect_load_error("{\"text\":\"x\",\"label\":1.5}\n", RECORDS_NDJSON,
	                  "mem: line 1: \"label\" must be a string, an integer or a boolean");
	expect_load_error("{\"text\":[\"x\"],\"label\":\"y\"}\n", RECORDS_NDJSON,
	                  "mem: line 1: \"text\" must be a string, an integer or a boolean");
	expect_load_error("{\"text\":\"a\\u0000b\",\"label\":\"y\"}\n", RECORDS_NDJSON,
	                  "mem: line 1: invalid JSON at column 18: \\u0000 is not allowed without "
	                  "JSON_ALLOW_NUL near '\"a\\u0000b\"'");
}

static void test_format_by_content(void **state)
{
	struct records r;

	(void)state;
	/* A BOM and white space before the '{' still say NDJSON. */
	load("\xEF\xBB\xBF  {\"text\":\"a\",\"label\":\"b\"}\n", RECORDS_AUTO, &r);
	assert_int_equal(r.n, 1);
	records_clear(&r);
	/* CSV forced on NDJSON: not CSV. */
	expect_load_error(
	        "{\"text\":\"a\",\"label\":\"b\"}\n", RECORDS_CSV,
	        "mem: line 1: ':' after a closing quote (a quote inside a quoted field is "
	        "written \"\")");
	/* Sniffing goes by the first byte alone: '{' is NDJSON. */
	expect_load_error("{a},b\n", RECORDS_AUTO,
	                  "mem: line 1: invalid JSON at column 2: string "
	                  "or '}' expected near 'a'");
}

static void test_files(void **state)
{
	struct records a, b;
	char err[300];

	(void)state;
	/* The same corpus as CSV (BOM, CRLF, a quoted line break and quotes) and as NDJSON. */
	assert_int_equal(records_load("tests/classifier/data/corpus.csv", "text", "topic", &a, err,
	                              sizeof(err)),
	                 0);
	assert_int_equal(records_load("tests/classifier/data/corpus.ndjson", "text", "topic", &b,
	                              err, sizeof(err)),
	                 0);
	assert_int_equal(a.n, 36);
	assert_int_equal(b.n, 36);
	for (size_t i = 0; i < a.n; i++) {
		assert_string_equal(a.label[i], b.label[i]);
		if (i != 3 && i != 15)
			assert_string_equal(a.text[i], b.text[i]);
	}
	assert_non_null(strstr(a.text[3], ",\nпишу второй раз"));
	assert_non_null(strstr(a.text[15], "\"Уступи дорогу\""));
	assert_int_equal(a.line[3], 5); /* spans lines 5 and 6 */
	assert_int_equal(a.line[4], 7);
	records_clear(&a);
	records_clear(&b);
	assert_int_equal(records_load("tests/classifier/data/missing.csv", "text", "topic", &a, err,
	                              sizeof(err)),
	                 -1);
	assert_string_equal(err, "tests/classifier/data/missing.csv: cannot open: No such file or "
	                         "directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rfc4180),
	        cmocka_unit_test(test_syntax_errors_name_the_line),
	        cmocka_unit_test(test_no_terminator_needed),
	        cmocka_unit_test(test_csv_records),
	        cmocka_unit_test(test_ndjson_records),
	        cmocka_unit_test(test_format_by_content),
	        cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
