/*
 * text: the Russian text pipeline (see text.h): one pass over the input that strips HTML
 * remnants and URLs, lower-cases and cuts tokens into the pipeline's buffer, then flags stop
 * words and stems each word with Snowball.
 */
#include "text.h"

#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "utf8.h"
#include "xalloc.h"

/*
 * Stemming a word costs Snowball a few hundred nanoseconds, and words repeat (Zipf): a cache
 * of word -> (stem, stop word?) answers most of them for a hash and a memcmp. It holds words of
 * at most STEM_CACHE_MAX_WORD bytes and is emptied when it fills, so it stays bounded
 * (STEM_CACHE_SLOTS * 16 + STEM_CACHE_BYTES, 768 KB) and needs no eviction policy.
 */
#define STEM_CACHE_SLOTS (1u << 15)
#define STEM_CACHE_BYTES (1u << 19)
#define STEM_CACHE_MAX_WORD 64

struct stem_entry {
	uint32_t hash; /* 0: empty */
	uint32_t off;  /* word then stem in the cache's bytes */
	uint8_t word_len, stem_len, stop;
};

struct text_pipeline {
	struct sb_stemmer *stemmer;
	char *buf; /* tokens' words and stems */
	size_t cap;
	struct stem_entry *cache;
	char *cache_bytes;
	size_t cache_used, cache_count;
};

/* Russian function words, normalised (ё written е), sorted by their UTF-8 bytes for bsearch.
 * Negations and absence (не, нет, ни, без) are left out on purpose: see text.h. */
static const char *const stop_words[] = {
        "а",       "б",       "будем",   "будет",    "будете",   "будешь",  "будто",   "буду",
        "будут",   "бы",      "был",     "была",     "были",     "было",    "быть",    "в",
        "вам",     "вами",    "вас",     "ваш",      "ваша",     "ваше",    "вашего",  "вашей",
        "вашему",  "ваши",    "вашим",   "вашими",   "ваших",    "вашу",    "ведь",    "весь",
        "вместо",  "во",      "возле",   "вокруг",   "вон",      "вот",     "все",     "всего",
        "всей",    "всем",    "всеми",   "всему",    "всех",     "всю",     "вся",     "вы",
        "где",     "да",      "даже",    "для",      "до",       "его",     "ее",      "ей",
        "ему",     "если",    "есть",    "еще",      "ею",       "ж",       "же",      "за",
        "зато",    "здесь",   "и",       "ибо",      "из",       "изо",     "или",     "им",
        "ими",     "их",      "к",       "как",      "кем",      "ко",      "когда",   "кого",
        "ком",     "кому",    "которая", "которого", "которое",  "которой", "котором", "которому",
        "которую", "которые", "который", "которым",  "которыми", "которых", "кроме",   "кто",
        "куда",    "ли",      "либо",    "лишь",     "ль",       "между",   "меня",    "мне",
        "мной",    "мною",    "мое",     "моего",    "моей",     "моему",   "мои",     "моим",
        "моими",   "моих",    "мой",     "мою",      "моя",      "мы",      "на",      "над",
        "нам",     "нами",    "нас",     "наш",      "наша",     "наше",    "нашего",  "нашей",
        "нашему",  "наши",    "нашим",   "нашими",   "наших",    "нашу",    "него",    "нее",
        "нежели",  "ней",     "нем",     "нему",     "нею",      "ним",     "ними",    "них",
        "но",      "ну",      "о",       "об",       "обо",      "однако",  "около",   "он",
        "она",     "они",     "оно",     "от",       "откуда",   "ото",     "перед",   "передо",
        "по",      "под",     "подо",    "пока",     "после",    "потом",   "потому",  "поэтому",
        "пред",    "при",     "про",     "с",        "сам",      "сама",    "сами",    "самим",
        "самими",  "самих",   "само",    "самого",   "самой",    "самом",   "самому",  "саму",
        "свое",    "своего",  "своей",   "своему",   "свои",     "своим",   "своими",  "своих",
        "свой",    "свою",    "своя",    "себе",     "себя",     "сейчас",  "сквозь",  "словно",
        "со",      "собой",   "собою",   "среди",    "та",       "так",     "такая",   "также",
        "такие",   "таким",   "таких",   "такого",   "такое",    "такой",   "такую",   "там",
        "твое",    "твоего",  "твоей",   "твои",     "твоих",    "твой",    "твоя",    "те",
        "тебе",    "тебя",    "тем",     "теми",     "теперь",   "тех",     "то",      "тобой",
        "тобою",   "тогда",   "того",    "тоже",     "той",      "только",  "том",     "тому",
        "тот",     "ту",      "тут",     "ты",       "у",        "уж",      "уже",     "хоть",
        "хотя",    "чего",    "чей",     "чем",      "чему",     "через",   "что",     "чтоб",
        "чтобы",   "чье",     "чьи",     "чья",      "эта",      "эти",     "этим",    "этими",
        "этих",    "это",     "этого",   "этой",     "этом",     "этому",   "этот",    "эту",
        "я",
};

#define N_STOP_WORDS (sizeof(stop_words) / sizeof(stop_words[0]))

struct span {
	const char *s;
	size_t len;
};

static int stop_cmp(const void *key, const void *elem)
{
	const struct span *k = key;
	const char *w = *(const char *const *)elem;
	size_t wl = strlen(w);
	int c = memcmp(k->s, w, k->len < wl ? k->len : wl);

	if (c != 0)
		return c;
	return (k->len > wl) - (k->len < wl);
}

bool text_is_stop_word(const char *w, size_t len)
{
	struct span k = {w, len};

	/* No stop word is longer than 20 bytes: most words are answered without a search. */
	if (len == 0 || len > 20)
		return false;
	return bsearch(&k, stop_words, N_STOP_WORDS, sizeof(stop_words[0]), stop_cmp) != NULL;
}

/* ---- characters ---------------------------------------------------------------------------- */

enum char_class {
	CH_SEP,    /* ends a token */
	CH_IGNORE, /* dropped without ending a token (accents, soft hyphen, joiners) */
	CH_DIGIT,
	CH_LATIN, /* a letter of the Latin script (lower-cased in *lower) */
	CH_CYRILLIC,
	CH_LETTER, /* a letter of another script we lower-case (Greek) */
};

/* Lower-case of the upper-case letters of paired blocks where upper is even (or odd) and the
 * lower case follows it. */
static uint32_t pair_lower(uint32_t c, uint32_t upper_parity)
{
	return (c & 1u) == upper_parity ? c + 1 : c;
}

/* Classifies c and writes its lower-case form (ё -> е) into *lower. */
static enum char_class char_classify(uint32_t c, uint32_t *lower)
{
	*lower = c;
	if (c < 0x80) {
		if (c >= '0' && c <= '9')
			return CH_DIGIT;
		if (c >= 'A' && c <= 'Z') {
			*lower = c + 32;
			return CH_LATIN;
		}
		if (c >= 'a' && c <= 'z')
			return CH_LATIN;
		return CH_SEP;
	}
	if (c >= 0x0400 && c <= 0x052F) { /* Cyrillic and Cyrillic Supplement */
		if (c == 0x0401 || c == 0x0451) {
			*lower = 0x0435; /* Ё, ё -> е */
		} else if (c < 0x0410) {
			*lower = c + 0x50;
		} else if (c < 0x0430) {
			*lower = c + 0x20;
		} else if (c < 0x0460) {
			/* already lower-case */
		} else if (c <= 0x0481 || (c >= 0x048A && c <= 0x04BF) || c >= 0x04D0) {
			*lower = pair_lower(c, 0);
		} else if (c == 0x04C0) {
			*lower = 0x04CF;
		} else if (c >= 0x04C1 && c <= 0x04CE) {
			*lower = pair_lower(c, 1);
		} else if (c >= 0x0483 && c <= 0x0489) {
			return CH_IGNORE; /* combining titlo and friends */
		} else if (c == 0x0482) {
			return CH_SEP; /* thousands sign */
		}
		return CH_CYRILLIC;
	}
	if (c >= 0x00C0 && c <= 0x017F) { /* Latin-1 letters and Latin Extended-A */
		if (c == 0x00D7 || c == 0x00F7)
			return CH_SEP; /* × ÷ */
		if (c <= 0x00DE)
			*lower = c + 0x20;
		else if (c <= 0x00FF || c == 0x0138 || c == 0x0149 || c == 0x017F)
			; /* lower-case already */
		else if (c == 0x0178)
			*lower = 0x00FF;
		else if (c < 0x0138 || (c >= 0x014A && c < 0x0178))
			*lower = pair_lower(c, 0);
		else
			*lower = pair_lower(c, 1);
		return CH_LATIN;
	}
	if (c >= 0x0386 && c <= 0x03CE && c != 0x0387) { /* Greek */
		if (c >= 0x0391 && c <= 0x03AB)
			*lower = c + 0x20;
		return c == 0x03A2 ? CH_SEP : CH_LETTER;
	}
	if ((c >= 0x0300 && c <= 0x036F) || c == 0x00AD || c == 0x200C || c == 0x200D ||
	    c == 0x2060 || c == 0xFEFF)
		return CH_IGNORE;
	return CH_SEP;
}

static size_t utf8_put(char *out, uint32_t c)
{
	unsigned char *u = (unsigned char *)out;

	if (c < 0x80) {
		u[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		u[0] = (unsigned char)(0xC0 | (c >> 6));
		u[1] = (unsigned char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		u[0] = (unsigned char)(0xE0 | (c >> 12));
		u[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
		u[2] = (unsigned char)(0x80 | (c & 0x3F));
		return 3;
	}
	u[0] = (unsigned char)(0xF0 | (c >> 18));
	u[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
	u[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
	u[3] = (unsigned char)(0x80 | (c & 0x3F));
	return 4;
}

/* The Cyrillic letter a lower-case Latin letter is mistaken for, or 0. */
static uint32_t latin_lookalike(unsigned char c)
{
	switch (c) {
	case 'a':
		return 0x0430;
	case 'b':
		return 0x0432;
	case 'c':
		return 0x0441;
	case 'e':
		return 0x0435;
	case 'h':
		return 0x043D;
	case 'k':
		return 0x043A;
	case 'm':
		return 0x043C;
	case 'o':
		return 0x043E;
	case 'p':
		return 0x0440;
	case 't':
		return 0x0442;
	case 'x':
		return 0x0445;
	case 'y':
		return 0x0443;
	default:
		return 0;
	}
}

/* ---- HTML remnants and URLs ---------------------------------------------------------------- */

static bool is_ascii_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_ascii_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Length of the tag or comment s[0..len) starts with ('<' included), or 0 when '<' does not
 * open one (followed by a letter, '/', '!' or '?', closed within 2048 bytes, quotes honoured). */
static size_t html_tag_len(const char *s, size_t len)
{
	const size_t limit = len < 2048 ? len : 2048;
	char quote = 0;

	if (len < 3)
		return 0;
	if (len >= 4 && memcmp(s, "<!--", 4) == 0) {
		for (size_t i = 4; i + 3 <= len; i++)
			if (memcmp(s + i, "-->", 3) == 0)
				return i + 3;
		return 0;
	}
	if (!is_ascii_alpha((unsigned char)s[1]) && s[1] != '/' && s[1] != '!' && s[1] != '?')
		return 0;
	for (size_t i = 1; i < limit; i++) {
		char c = s[i];
		if (quote) {
			if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			/* Quotes only open an attribute value after '=' (an apostrophe in text does not). */
			if (s[i - 1] == '=')
				quote = c;
		} else if (c == '>') {
			return i + 1;
		} else if (c == '<') {
			return 0;
		}
	}
	return 0;
}

/* Marker for an entity that is dropped without separating (&shy;). */
#define CP_IGNORE 0xFFFFFFFFu

/*
 * Reads the character reference s[0..len) starts with ('&' included). Returns its length and
 * sets *cp to the decoded code point (numeric references), CP_IGNORE (&shy;), or 0 (other named
 * entities, and numeric ones that are not characters: they separate). Returns 0 when '&' does
 * not start a reference.
 */
static size_t html_entity(const char *s, size_t len, uint32_t *cp)
{
	size_t i = 1;

	*cp = 0;
	if (len >= 3 && s[1] == '#') {
		uint32_t v = 0;
		size_t start;
		bool hex = s[2] == 'x' || s[2] == 'X';

		i = hex ? 3 : 2;
		start = i;
		while (i < len && i - start < 8) {
			unsigned char c = (unsigned char)s[i];
			if (is_ascii_digit(c))
				v = v * (hex ? 16 : 10) + (c - '0');
			else if (hex && c >= 'a' && c <= 'f')
				v = v * 16 + (c - 'a' + 10);
			else if (hex && c >= 'A' && c <= 'F')
				v = v * 16 + (c - 'A' + 10);
			else
				break;
			i++;
		}
		if (i == start || i >= len || s[i] != ';')
			return 0;
		if (v != 0 && v <= 0x10FFFF && (v < 0xD800 || v > 0xDFFF))
			*cp = v;
		return i + 1;
	}
	while (i < len && i <= 32 &&
	       (is_ascii_alpha((unsigned char)s[i]) ||
	        (i > 1 && is_ascii_digit((unsigned char)s[i]))))
		i++;
	if (i < 3 || i >= len || s[i] != ';')
		return 0;
	if (i == 4 && memcmp(s + 1, "shy", 3) == 0)
		*cp = CP_IGNORE;
	return i + 1;
}

static bool prefix_ci(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);

	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c != (unsigned char)p[i])
			return false;
	}
	return true;
}

/* Length of the URL s[0..len) starts with (up to white space or '<'), or 0. */
static size_t url_len(const char *s, size_t len)
{
	size_t i;

	if (!prefix_ci(s, len, "http://") && !prefix_ci(s, len, "https://") &&
	    !prefix_ci(s, len, "ftp://") && !prefix_ci(s, len, "www."))
		return 0;
	for (i = 0; i < len && !is_space((unsigned char)s[i]) && s[i] != '<'; i++)
		;
	return i;
}

/* ---- tokens -------------------------------------------------------------------------------- */

struct text_pipeline *text_new(char *err, size_t errlen)
{
	struct sb_stemmer *st = sb_stemmer_new("russian", "UTF_8");
	struct text_pipeline *p;

	if (!st) {
		if (err && errlen)
			snprintf(err, errlen, "libstemmer has no \"russian\" stemmer for UTF_8");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->stemmer = st;
	p->cache = xcalloc(STEM_CACHE_SLOTS, sizeof(*p->cache));
	p->cache_bytes = xmalloc(STEM_CACHE_BYTES);
	return p;
}

void text_free(struct text_pipeline *p)
{
	if (!p)
		return;
	sb_stemmer_delete(p->stemmer);
	free(p->buf);
	free(p->cache);
	free(p->cache_bytes);
	free(p);
}

/*
 * The stem of w[0..len) and whether it is a stop word, from the cache or from Snowball (and
 * then cached). *stem points into the cache or the stemmer and is valid until the next call.
 * Returns the stem's length, or -1 if the stemmer failed.
 */
static int stem_word(struct text_pipeline *p, const char *w, size_t len, uint32_t h,
                     const char **stem, bool *stop)
{
	const sb_symbol *st;
	uint32_t slot = 0;
	int sl;

	if (h) {
		for (slot = h & (STEM_CACHE_SLOTS - 1); p->cache[slot].hash;
		     slot = (slot + 1) & (STEM_CACHE_SLOTS - 1)) {
			const struct stem_entry *e = &p->cache[slot];
			if (e->hash == h && e->word_len == len &&
			    memcmp(p->cache_bytes + e->off, w, len) == 0) {
				*stem = p->cache_bytes + e->off + len;
				*stop = e->stop;
				return e->stem_len;
			}
		}
	}
	*stop = text_is_stop_word(w, len);
	st = sb_stemmer_stem(p->stemmer, (const sb_symbol *)w, (int)len);
	if (!st)
		return -1;
	sl = sb_stemmer_length(p->stemmer);
	*stem = (const char *)st;
	if (!h || sl < 0 || (size_t)sl > len)
		return sl;
	if (p->cache_count >= STEM_CACHE_SLOTS / 2 ||
	    p->cache_used + len + (size_t)sl > STEM_CACHE_BYTES) {
		memset(p->cache, 0, STEM_CACHE_SLOTS * sizeof(*p->cache));
		p->cache_used = 0;
		p->cache_count = 0;
		for (slot = h & (STEM_CACHE_SLOTS - 1); p->cache[slot].hash;
		     slot = (slot + 1) & (STEM_CACHE_SLOTS - 1))
			;
	}
	p->cache[slot].hash = h;
	p->cache[slot].off = (uint32_t)p->cache_used;
	p->cache[slot].word_len = (uint8_t)len;
	p->cache[slot].stem_len = (uint8_t)sl;
	p->cache[slot].stop = *stop;
	memcpy(p->cache_bytes + p->cache_used, w, len);
	memcpy(p->cache_bytes + p->cache_used + len, st, (size_t)sl);
	p->cache_used += len + (size_t)sl;
	p->cache_count++;
	return sl;
}

/* The stem cache key of w[0..len) (0 when too long to be cached), its slot asked for: the
 * cache is larger than the caches of the CPU, and a miss on each word cost more than all the
 * rest of tokenising it. The words are stemmed after the whole text is read (stem_tokens). */
static uint32_t stem_key(const struct text_pipeline *p, const struct token *tk)
{
	uint32_t h;

	if (tk->word_len > STEM_CACHE_MAX_WORD)
		return 0;
	h = (uint32_t)(tk->word_fnv ^ tk->word_fnv >> 32);
	h = h ? h : 1;
	__builtin_prefetch(&p->cache[h & (STEM_CACHE_SLOTS - 1)]);
	return h;
}

/* The stems of the words among toks[0..n), written after them into p->buf from used on;
 * returns the new used. */
static size_t stem_tokens(struct text_pipeline *p, struct token *toks, size_t n, size_t used)
{
	for (size_t i = 0; i < n; i++) {
		struct token *tk = &toks[i];
		const char *st;
		bool stop;
		int sl;

		if (tk->flags & TOKEN_NUMBER)
			continue;
		/* A later word's entry has arrived by now: ask for its bytes too. */
		if (i + 4 < n && toks[i + 4].word_hash) {
			const struct stem_entry *e =
			        &p->cache[toks[i + 4].word_hash & (STEM_CACHE_SLOTS - 1)];
			if (e->hash)
				__builtin_prefetch(p->cache_bytes + e->off);
		}
		sl = stem_word(p, tk->word, tk->word_len, tk->word_hash, &st, &stop);
		if (stop)
			tk->flags |= TOKEN_STOP;
		if (sl < 0 || (size_t)sl >= p->cap - used) {
			tk->stem = tk->word;
			tk->stem_len = tk->word_len;
		} else {
			memcpy(p->buf + used, st, (size_t)sl);
			tk->stem = p->buf + used;
			tk->stem_len = (uint32_t)sl;
			tk->stem_fnv = fnv1a64(FNV1A64_OFFSET, tk->stem, tk->stem_len);
			used += (size_t)sl;
			p->buf[used++] = '\0';
		}
	}
	return used;
}

/* The token being built in p->buf[start..used). */
struct tok_state {
	size_t start;
	bool active;
	bool number;
	bool suffix;                               /* a number that already took its one letter */
	bool slash;                                /* a number that already joined "/digits" */
	bool has_cyrillic, has_latin, latin_other; /* for the look-alike repair */
};

/* The Cyrillic vowel a Latin-1 vowel with an acute accent stands for when it marks stress
 * inside a Russian word («зáмок»), or 0. */
static uint32_t accented_lookalike(uint32_t c)
{
	switch (c) {
	case 0x00E1:
		return 0x0430;
	case 0x00E9:
		return 0x0435;
	case 0x00F3:
		return 0x043E;
	case 0x00FD:
		return 0x0443;
	default:
		return 0;
	}
}

/* Rewrites the Latin look-alikes of the token buf[start..*end) as Cyrillic, back to front (the
 * word only grows, so the write position never overtakes the read position). */
static void fix_lookalikes(char *buf, size_t start, size_t *end)
{
	size_t extra = 0, r, w;

	for (size_t i = start; i < *end; i++)
		if ((unsigned char)buf[i] < 0x80)
			extra++;
	r = *end;
	w = *end + extra;
	while (r > start) {
		unsigned char c = (unsigned char)buf[--r];
		if (c < 0x80) {
			w -= 2;
			utf8_put(buf + w, latin_lookalike(c));
		} else if (c == 0xA1 || c == 0xA9 || c == 0xB3 || c == 0xBD) {
			/* The second byte of á é ó ý (C3 xx) or of a Cyrillic letter (D0/D1 xx). */
			uint32_t cy = (unsigned char)buf[r - 1] == 0xC3
			                      ? accented_lookalike(0xC0 + (c & 0x3F))
			                      : 0;
			if (cy) {
				r--;
				w -= 2;
				utf8_put(buf + w, cy);
			} else {
				buf[--w] = (char)c;
			}
		} else {
			buf[--w] = (char)c;
		}
	}
	*end += extra;
}

size_t text_tokens(struct text_pipeline *p, const char *s, size_t len, struct token *out,
                   size_t max)
{
	/* Words are at most twice their input bytes (a Latin look-alike becomes a 2-byte
	 * Cyrillic letter), stems at most their word, plus two NULs per token. */
	size_t need = 6 * len + 64, used = 0, n = 0, i = 0;
	struct tok_state t = {0};

	if (max == 0)
		return 0;
	if (p->cap < need) {
		free(p->buf);
		p->cap = need > 2 * p->cap ? need : 2 * p->cap;
		p->buf = xmalloc(p->cap);
	}
	for (;;) {
		uint32_t cp, lower = 0;
		size_t adv = 1;
		enum char_class cls;

		if (i >= len) {
			cls = CH_SEP;
			cp = 0;
		} else {
			unsigned char c = (unsigned char)s[i];
			size_t k;
			if (c == '<' && (k = html_tag_len(s + i, len - i)) > 0) {
				adv = k;
				cp = 0;
			} else if (c == '&' && (k = html_entity(s + i, len - i, &cp)) > 0) {
				adv = k;
			} else if (!t.active && (c | 0x20) >= 'f' && (c | 0x20) <= 'w' &&
			           (k = url_len(s + i, len - i)) > 0) {
				adv = k;
				cp = 0;
			} else if (c < 0x80) {
				cp = c;
			} else if (c >= 0xC2 && c <= 0xDF && i + 1 < len &&
			           ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
				/* Two bytes, as every Cyrillic letter: the common case, inline. */
				cp = (uint32_t)(c & 0x1F) << 6 | ((unsigned char)s[i + 1] & 0x3F);
				adv = 2;
			} else if ((k = utf8_seq_len(s + i, len - i)) > 0) {
				cp = utf8_decode(s + i, k);
				adv = k;
			} else {
				cp = 0; /* invalid byte */
			}
			if (cp == CP_IGNORE) {
				i += adv;
				continue;
			}
			cls = cp ? char_classify(cp, &lower) : CH_SEP;
		}
		if (cls == CH_IGNORE) {
			i += adv;
			continue;
		}
		if (t.active) {
			bool keep = false;
			if (cls == CH_DIGIT) {
				keep = t.number && !t.suffix;
			} else if (cls == CH_SEP) {
				/* "12/3": a number takes one "/digits" part. */
				if (t.number && !t.slash && cp == '/' && i + 1 < len &&
				    is_ascii_digit((unsigned char)s[i + 1])) {
					p->buf[used++] = '/';
					t.slash = true;
					t.suffix = false;
					i++;
					continue;
				}
			} else if (!t.number) {
				keep = true;
			} else if (!t.suffix) {
				/* One letter after the digits is a house-number suffix when no letter
				 * follows it: "45а" but "5этаж" -> "5", "этаж". */
				uint32_t next = 0, nl;
				size_t k = i + adv < len ? utf8_seq_len(s + i + adv, len - i - adv)
				                         : 0;
				if (k)
					next = utf8_decode(s + i + adv, k);
				if (!next || char_classify(next, &nl) < CH_LATIN) {
					keep = true;
					t.suffix = true;
				}
			}
			if (!keep) {
				/* Finish the token. */
				size_t end = used;
				struct token *tk;
				if (!t.number && t.has_cyrillic && t.has_latin && !t.latin_other)
					fix_lookalikes(p->buf, t.start, &end);
				used = end;
				p->buf[used++] = '\0';
				tk = &out[n++];
				tk->word = p->buf + t.start;
				tk->word_len = (uint32_t)(end - t.start);
				tk->flags = 0;
				tk->stem = tk->word;
				tk->stem_len = tk->word_len;
				tk->word_hash = 0;
				tk->word_fnv = tk->stem_fnv =
				        fnv1a64(FNV1A64_OFFSET, tk->word, tk->word_len);
				if (t.number)
					tk->flags |= TOKEN_NUMBER;
				else
					tk->word_hash = stem_key(p, tk);
				t.active = false;
				if (n == max)
					break;
			}
		}
		if (i >= len)
			break;
		if (!t.active && cls != CH_SEP) {
			memset(&t, 0, sizeof(t));
			t.active = true;
			t.start = used;
			t.number = cls == CH_DIGIT;
		}
		if (t.active && cls != CH_SEP) {
			if (cls == CH_CYRILLIC) {
				t.has_cyrillic = true;
			} else if (cls == CH_LATIN) {
				t.has_latin = true;
				if (lower >= 0x80 ? !accented_lookalike(lower)
				                  : !latin_lookalike((unsigned char)lower))
					t.latin_other = true;
			}
			used += utf8_put(p->buf + used, cls == CH_DIGIT ? cp : lower);
		}
		i += adv;
	}
	stem_tokens(p, out, n, used);
	return n;
}

size_t text_tokenize(struct text_pipeline *p, const char *s, size_t len, struct token_list *l)
{
	/* At most one token per input byte. */
	if (l->cap < len + 1) {
		l->cap = len + 1 > 2 * l->cap ? len + 1 : 2 * l->cap;
		free(l->items);
		l->items = xmalloc(l->cap * sizeof(*l->items));
	}
	l->n = text_tokens(p, s, len, l->items, l->cap);
	return l->n;
}

void token_list_clear(struct token_list *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}
