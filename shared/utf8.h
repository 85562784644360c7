/*
 * utf8: the project's one reader of UTF-8, for text that comes from outside (posts, label
 * values, messages built from input) and must be checked, measured or made safe to emit.
 *
 * Well-formed means the Unicode standard's table 3-7: the range of a sequence's second byte
 * depends on its first, which is what rules out overlong forms (C0, C1, E0 80..9F, F0 80..8F),
 * surrogates (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF). Every function takes
 * the length of its input and never reads past it: no input needs a NUL terminator, and a
 * sequence cut by the end of the input is invalid, not read on into the next bytes.
 */
#ifndef SHARED_UTF8_H
#define SHARED_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Length (1 to 4) of the well-formed sequence that s[0..avail) starts with, or 0 when it starts
 * with none: a byte that cannot lead, a following byte out of its range, or a sequence longer
 * than avail (avail 0 included). Reads at most min(avail, 4) bytes. A NUL byte is the
 * well-formed one-byte sequence of U+0000 here; utf8_invalid_at is the check that refuses it.
 */
size_t utf8_seq_len(const char *s, size_t avail);

/* The code point of the well-formed sequence s[0..n), where n is what utf8_seq_len returned
 * for it (1 to 4). */
uint32_t utf8_decode(const char *s, size_t n);

/*
 * Byte offset of the first invalid sequence in s[0..len) (overlong forms, surrogates, code
 * points above U+10FFFF, truncated sequences and NUL count as invalid), or -1 when it is all
 * valid.
 */
long utf8_invalid_at(const char *s, size_t len);

/* Number of code points in s[0..len), which must be valid UTF-8 (utf8_invalid_at). */
size_t utf8_length(const char *s, size_t len);

/*
 * A copy of s[0..len) in which every byte that does not start a well-formed sequence
 * (utf8_seq_len) is replaced by U+FFFD (EF BF BD), so the copy is valid UTF-8 whatever the input.
 * NUL bytes inside are copied as they are, and a terminating NUL follows the copy. Its length in
 * bytes (at most 3 * len, the terminator not counted) goes into *out_len unless out_len is NULL.
 * The caller frees the copy; running out of memory aborts through xmalloc, never returns NULL.
 */
char *utf8_sanitize(const char *s, size_t len, size_t *out_len);

#endif
