/*
 * Unit tests for shared/strbuf: an empty buffer detaches as an allocated "", appends of every
 * kind keep the terminator and count NUL bytes added as data, printf output longer than the
 * first guess is written whole, a format error appends nothing, many small appends equal one
 * large one, and release and detach leave a buffer ready for reuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "strbuf.h"
#include "xalloc.h"

static void test_empty(void **state)
{
	struct strbuf sb = {0};
	char *s;

	(void)state;
	s = strbuf_detach(&sb);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);

	/* Adding nothing still allocates: buf is a string from then on. */
	strbuf_add(&sb, NULL, 0);
	assert_non_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");
	strbuf_release(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);
	strbuf_release(&sb); /* twice is harmless */
}

static void test_appends(void **state)
{
	struct strbuf sb = {0};
	char *s;

	(void)state;
	strbuf_addstr(&sb, "Нет ");
	strbuf_add(&sb, "воды\0и света", 13);
	assert_int_equal(sb.len, strlen("Нет ") + 13);
	assert_memory_equal(sb.buf, "Нет воды\0и света", sb.len);
	assert_int_equal(sb.buf[sb.len], '\0');
	strbuf_addch(&sb, '!');
	strbuf_addch(&sb, '\0');
	assert_int_equal(sb.len, strlen("Нет ") + 15);
	assert_int_equal(sb.buf[sb.len - 2], '!');
	assert_int_equal(sb.buf[sb.len - 1], '\0');
	assert_int_equal(sb.buf[sb.len], '\0');
	assert_true(sb.cap > sb.len);
	s = strbuf_detach(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);
	assert_string_equal(s, "Нет воды");
	free(s);

	/* Reused after detach. */
	strbuf_addstr(&sb, "ещё");
	assert_string_equal(sb.buf, "ещё");
	strbuf_release(&sb);
}

static void test_addf(void **state)
{
	struct strbuf sb = {0};
	char *long_arg = xmalloc(1001), *want;

	(void)state;
	strbuf_addf(&sb, "%s=%d", "a", 1);
	assert_string_equal(sb.buf, "a=1");
	assert_int_equal(sb.len, 3);
	strbuf_addf(&sb, "%s", "");
	assert_int_equal(sb.len, 3);

	/* Longer than the room the first attempt has: written whole on the second. */
	memset(long_arg, 'x', 1000);
	long_arg[1000] = '\0';
	strbuf_addf(&sb, ",%s,%05d", long_arg, 42);
	want = xasprintf("a=1,%s,00042", long_arg);
	assert_int_equal(sb.len, strlen(want));
	assert_string_equal(sb.buf, want);
	free(want);

	/* A conversion that fails (a wide character the C locale cannot encode) adds nothing. */
	strbuf_addf(&sb, "%lc", (wint_t)0x20AC);
	assert_int_equal(sb.len, strlen("a=1,") + 1000 + strlen(",00042"));
	assert_int_equal(sb.buf[sb.len], '\0');
	strbuf_release(&sb);
	free(long_arg);
}

/* Many one-byte appends, as the normaliser makes them, equal the same bytes in one go. */
static void test_growth(void **state)
{
	struct strbuf sb = {0};
	char *want = xmalloc(100001);

	(void)state;
	for (size_t i = 0; i < 100000; i++) {
		want[i] = (char)('a' + i % 26);
		strbuf_addch(&sb, want[i]);
		if (sb.buf[sb.len] != '\0')
			fail_msg("no terminator after %zu bytes", sb.len);
	}
	want[100000] = '\0';
	assert_int_equal(sb.len, 100000);
	assert_string_equal(sb.buf, want);
	free(want);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_empty),
	        cmocka_unit_test(test_appends),
	        cmocka_unit_test(test_addf),
	        cmocka_unit_test(test_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
