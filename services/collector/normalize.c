/*
 * normalize: HTML or plain text from any source into the collector's normal form, links and
 * mentions pulled into their own fields, and the finishing touches every message gets before
 * it is stored (see normalize.h).
 */
#include "normalize.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strbuf.h"
#include "timefmt.h"
#include "utf8.h"
#include "xalloc.h"

/* Appends cp as UTF-8; NUL, surrogates and values past U+10FFFF become U+FFFD. */
static void add_codepoint(struct strbuf *b, uint32_t cp)
{
	char s[4];
	size_t n;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		s[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (char)(0xC0 | (cp >> 6));
		s[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (char)(0xE0 | (cp >> 12));
		s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		s[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		s[0] = (char)(0xF0 | (cp >> 18));
		s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		s[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	strbuf_add(b, s, n);
}

/* ---- HTML -------------------------------------------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t cp;
} entities[] = {
        {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},
        {"apos", '\''},    {"nbsp", ' '},     {"laquo", 0xAB},    {"raquo", 0xBB},
        {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026}, {"copy", 0xA9},
        {"reg", 0xAE},     {"trade", 0x2122}, {"euro", 0x20AC},   {"rsquo", 0x2019},
        {"lsquo", 0x2018}, {"rdquo", 0x201D}, {"ldquo", 0x201C},  {"bdquo", 0x201E},
        {"bull", 0x2022},  {"middot", 0xB7},  {"deg", 0xB0},      {"times", 0xD7},
        {"minus", 0x2212}, {"shy", 0},        {"numero", 0x2116},
};

/* Decodes the entity at s ("&...;") into b; returns bytes consumed, 0 if it is not one. */
static size_t decode_entity(const char *s, size_t avail, struct strbuf *b)
{
	size_t end = 1;

	while (end < avail && end < 12 && s[end] != ';' && s[end] != '&' && s[end] != ' ')
		end++;
	if (end >= avail || s[end] != ';' || end < 2)
		return 0;
	if (s[1] == '#') {
		char *stop;
		bool hex = s[2] == 'x' || s[2] == 'X';
		const char *digits = s + (hex ? 3 : 2);
		if (digits >= s + end)
			return 0;
		unsigned long cp = strtoul(digits, &stop, hex ? 16 : 10);
		if (stop != s + end)
			return 0;
		add_codepoint(b, cp > 0x10FFFF ? 0xFFFD : (uint32_t)cp);
		return end + 1;
	}
	for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
		if (strlen(entities[i].name) == end - 1 &&
		    !strncmp(s + 1, entities[i].name, end - 1)) {
			if (entities[i].cp) /* &shy; is dropped */
				add_codepoint(b, entities[i].cp);
			return end + 1;
		}
	}
	return 0;
}

/* True for tags after which the text visibly breaks a line. */
static bool block_tag(const char *name, size_t n)
{
	static const char *const blocks[] = {"br",      "p",          "div",    "li",     "tr",
	                                     "h1",      "h2",         "h3",     "h4",     "h5",
	                                     "h6",      "blockquote", "ul",     "ol",     "table",
	                                     "section", "article",    "header", "footer", "pre"};
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (strlen(blocks[i]) == n && !strncasecmp(name, blocks[i], n))
			return true;
	return false;
}

/*
 * Skips the tag at s ('<' ...), returning bytes consumed, or 0 when '<' does not start a tag
 * ("a < b"). Contents of script and style elements are skipped with their tags. Sets *block
 * when the tag breaks a line.
 */
static size_t skip_tag(const char *s, size_t avail, bool *block)
{
	size_t i = 1;
	bool closing = false;

	*block = false;
	if (i < avail && s[i] == '/') {
		closing = true;
		i++;
	}
	if (i >= avail ||
	    !(((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || s[i] == '!' || s[i] == '?'))
		return 0;
	if (!strncmp(s + i, "!--", avail - i < 3 ? avail - i : 3)) {
		for (size_t j = i + 3; j + 3 <= avail; j++)
			if (!memcmp(s + j, "-->", 3))
				return j + 3;
		return avail;
	}
	size_t name = i;
	while (i < avail &&
	       (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (s[i] >= '0' && s[i] <= '9')))
		i++;
	size_t name_len = i - name;
	char quote = 0;
	while (i < avail && (quote || s[i] != '>')) {
		if (quote && s[i] == quote)
			quote = 0;
		else if (!quote && (s[i] == '"' || s[i] == '\''))
			quote = s[i];
		i++;
	}
	if (i >= avail)
		return avail; /* an unterminated tag swallows the rest, as a browser would */
	i++;
	*block = block_tag(s + name, name_len);
	if (!closing && ((name_len == 6 && !strncasecmp(s + name, "script", 6)) ||
	                 (name_len == 5 && !strncasecmp(s + name, "style", 5)))) {
		char close[10];
		snprintf(close, sizeof(close), "</%.*s", (int)name_len, s + name);
		for (size_t j = i; j + name_len + 2 <= avail; j++)
			if (!strncasecmp(s + j, close, name_len + 2)) {
				const char *gt = memchr(s + j, '>', avail - j);
				return gt ? (size_t)(gt - s) + 1 : avail;
			}
		return avail;
	}
	return i;
}

/* Folds whitespace: runs of blanks to one space, runs of line breaks to one, trimmed. */
static char *fold_whitespace(const char *s, size_t len)
{
	struct strbuf out = {0};
	bool space = false, newline = false;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(s + i, len - i);
		bool bad = n == 0; /* cannot happen after utf8_sanitize; kept safe anyway */
		uint32_t cp = bad ? 0xFFFD : utf8_decode(s + i, n);
		if (bad)
			n = 1;
		if (cp == '\n') {
			newline = true;
		} else if (cp == ' ' || cp == '\t' || cp == '\r' || cp == '\f' || cp == '\v' ||
		           cp == 0xA0 || cp == 0x2007 || cp == 0x202F || cp == 0x200B ||
		           (cp >= 0x2000 && cp <= 0x200A)) {
			space = true;
		} else if (cp < 0x20 || cp == 0x7F) {
			/* other control characters carry nothing a reader sees */
		} else {
			if (out.len && newline)
				strbuf_addch(&out, '\n');
			else if (out.len && space)
				strbuf_addch(&out, ' ');
			space = newline = false;
			if (bad)
				add_codepoint(&out, 0xFFFD);
			else
				strbuf_add(&out, s + i, n);
		}
		i += n;
	}
	return strbuf_detach(&out);
}

char *normalize_text(const char *text, size_t len)
{
	struct strbuf plain = {0};
	char *clean = utf8_sanitize(text, len, &len);

	for (size_t i = 0; i < len;) {
		size_t used = 0;
		bool block = false;
		if (clean[i] == '<')
			used = skip_tag(clean + i, len - i, &block);
		else if (clean[i] == '&')
			used = decode_entity(clean + i, len - i, &plain);
		if (used) {
			if (block)
				strbuf_addch(&plain, '\n');
			i += used;
			continue;
		}
		strbuf_addch(&plain, clean[i++]);
	}
	free(clean);
	char *folded = fold_whitespace(plain.buf, plain.len);
	strbuf_release(&plain);
	return folded;
}

/* ---- links and mentions ------------------------------------------------------------------------ */

static void list_add(json_t **list, const char *s, size_t n)
{
	if (!*list)
		*list = json_array();
	if (json_array_size(*list) >= MESSAGE_MAX_LIST)
		return;
	json_t *v = json_stringn(s, n);
	if (!v)
		return;
	size_t i;
	json_t *have;
	json_array_foreach(*list, i, have)
	{
		if (json_equal(have, v)) {
			json_decref(v);
			return;
		}
	}
	json_array_append_new(*list, v);
}

static bool ascii_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.';
}

/*
 * Rewrites VK mention markup "[id123|Имя]" to "Имя" in place (the target goes to mentions) and
 * collects @mentions and http(s) links.
 */
static void extract(struct message *m, json_t **links, json_t **mentions)
{
	char *t = m->text;
	size_t len = strlen(t), w = 0;

	for (size_t r = 0; r < len;) {
		if (t[r] == '[') {
			size_t k = r + 1;
			while (k < len && ascii_word(t[k]))
				k++;
			char *bar = k < len && t[k] == '|' ? t + k : NULL;
			char *close = bar ? memchr(bar, ']', len - k) : NULL;
			bool target = k > r + 1 && (!strncmp(t + r + 1, "id", 2) ||
			                            !strncmp(t + r + 1, "club", 4) ||
			                            !strncmp(t + r + 1, "public", 6));
			if (bar && close && target && close > bar + 1) {
				list_add(mentions, t + r + 1, k - r - 1);
				size_t n = (size_t)(close - bar - 1);
				memmove(t + w, bar + 1, n);
				w += n;
				r = (size_t)(close - t) + 1;
				continue;
			}
		}
		t[w++] = t[r++];
	}
	t[w] = '\0';
	len = w;

	for (size_t i = 0; i < len; i++) {
		if (t[i] == '@' &&
		    (i == 0 || t[i - 1] == ' ' || t[i - 1] == '\n' || t[i - 1] == '(')) {
			size_t k = i + 1;
			while (k < len && ascii_word(t[k]))
				k++;
			while (k > i + 1 && t[k - 1] == '.')
				k--;
			if (k - i > 2)
				list_add(mentions, t + i, k - i);
		} else if ((!strncmp(t + i, "http://", 7) || !strncmp(t + i, "https://", 8)) &&
		           (i == 0 || !ascii_word(t[i - 1]))) {
			size_t k = i;
			while (k < len && t[k] != ' ' && t[k] != '\n' && t[k] != '"' &&
			       t[k] != '<' && t[k] != '>')
				k++;
			/* Sentence punctuation after a link is not part of it. */
			while (k > i && strchr(".,;:!?)'", t[k - 1]))
				k--;
			if (k - i > 8)
				list_add(links, t + i, k - i);
			i = k;
		}
	}
}

int normalize_message(struct message *m, struct field_error *e)
{
	if (!m->text)
		return field_fail(e, "text", "is required");
	char *text = normalize_text(m->text, strlen(m->text));
	free(m->text);
	m->text = text;

	json_t *links = NULL, *mentions = NULL;
	extract(m, &links, &mentions);
	if (!m->links)
		m->links = links;
	else
		json_decref(links);
	if (!m->mentions)
		m->mentions = mentions;
	else
		json_decref(mentions);

	if (m->source && m->external_id) {
		free(m->id);
		m->id = xasprintf("%s:%s", m->source, m->external_id);
		if (utf8_length(m->id, strlen(m->id)) > MESSAGE_MAX_ID_CHARS)
			return field_fail(e, "external_id",
			                  "is too long: source and external_id together must be at "
			                  "most %d characters",
			                  MESSAGE_MAX_ID_CHARS - 1);
	}
	if (!m->received_at)
		m->received_at = time_now_ms();
	if (m->revision < 1)
		m->revision = 1;

	/* The one validator of message.v1 decides: encode and decode again. */
	json_t *record = message_encode(m);
	struct message check = {0};
	int rc = message_decode(record, &check, e);
	json_decref(record);
	message_clear(&check);
	return rc;
}
