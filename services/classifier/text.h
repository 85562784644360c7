/*
 * text: the classifier's Russian text pipeline, from a post as citizens write it to tokens
 * (normalised word + Snowball stem + flags) that the feature extractor hashes.
 *
 * What it does to the text, in order, in one pass:
 *  - HTML remnants: tags (<p>, </a>, <br/>, <!-- ... -->) are separators; numeric character
 *    references (&#1040; &#x430;) are decoded; named entities (&nbsp; &laquo; ...) are
 *    separators, except &shy; which is dropped (it sits inside words).
 *  - URLs (http://, https://, ftp://, www.) are dropped up to the next white space.
 *  - Letters are lower-cased, Unicode-correctly for Latin (ASCII, Latin-1, Latin Extended-A),
 *    Greek and Cyrillic (А-Я, Ѐ-Џ, and the paired letters of the other Cyrillic alphabets),
 *    and ё/Ё become е, as Russian writers use them interchangeably.
 *  - A word whose letters mix Cyrillic with Latin look-alikes (a c e o p x y k m t h b, as in
 *    «oтoпление» typed with Latin o's) or with Latin vowels whose acute accent marks stress
 *    (á é ó ý, as in «зáмок») is written all in Cyrillic; a word with any other Latin letter
 *    is left as it is.
 *  - Combining accents (U+0300..U+036F, stress marks), soft hyphens and zero-width joiners
 *    are dropped inside words; every other character that is not a letter or a digit
 *    (punctuation, symbols, emoji, other scripts, invalid UTF-8) separates tokens.
 *
 * Tokens:
 *  - a word is a run of letters; a hyphen separates («Усть-Абакан» -> «усть», «абакан»), as
 *    the parts carry the meaning and the pipeline must not guess which compounds to keep;
 *  - a number is a run of digits, with one letter directly after it kept as a house-number
 *    suffix («45а») and a "/digits" part joined («12/3», «12/3а»); more letters after the digits
 *    start a word of their own («5этаж» -> «5», «этаж»). Other punctuation separates:
 *    «д.5» -> «д», «5»; «18.02.2021» -> «18», «02», «2021». Letters followed by digits split
 *    too («кв12» -> «кв», «12»);
 *  - stop words are the Russian function words (prepositions, conjunctions, particles,
 *    pronouns, forms of быть); they are kept and flagged, not removed, so that callers that
 *    need them (character n-grams, explanations) still see them. Negations and absence words
 *    (не, нет, ни, без) are deliberately not stop words: «нет отопления» is a complaint.
 *  - the stem is the Snowball "russian" stem of the word (UTF-8); a number's stem is the
 *    number itself.
 *
 * A pipeline owns a Snowball stemmer, which is not thread-safe: use one pipeline per thread.
 * The hot path allocates nothing per token: tokens point into one buffer owned by the pipeline
 * that grows with the longest text seen.
 */
#ifndef CLASSIFIER_TEXT_H
#define CLASSIFIER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct text_pipeline;

enum token_flags {
	TOKEN_NUMBER = 1u << 0, /* starts with a digit: «45», «45а», «12/3» */
	TOKEN_STOP = 1u << 1,   /* a function word (see the list in text.c) */
};

struct token {
	/* Normalised word and its stem, NUL-terminated UTF-8, borrowed from the pipeline and valid
	 * until its next text_tokens call or text_free. */
	const char *word;
	const char *stem;
	uint32_t word_len, stem_len; /* in bytes, without the NUL */
	uint32_t flags;              /* enum token_flags */
	uint32_t word_hash;          /* the pipeline's stem cache key of word (0: not cached) */
	/* fnv1a64(FNV1A64_OFFSET, ...) of word and of stem (hash.h): the key every stage looks
	 * a token up by, hashed once here rather than once in each. */
	uint64_t word_fnv, stem_fnv;
};

/* A new pipeline with its own stemmer. Returns NULL (with err filled) only if libstemmer has
 * no Russian UTF-8 stemmer. Caller frees with text_free. err may be NULL. */
struct text_pipeline *text_new(char *err, size_t errlen);

/* Frees p; NULL is accepted. */
void text_free(struct text_pipeline *p);

/*
 * Tokenises s[0..len) (need not be NUL-terminated; invalid UTF-8 separates tokens) into
 * out[0..max). Returns the number of tokens stored; a text with more than max tokens is cut
 * after the first max. The tokens are borrowed from p (see struct token).
 */
size_t text_tokens(struct text_pipeline *p, const char *s, size_t len, struct token *out,
                   size_t max);

/* The tokens of a whole text, in an array that grows as needed and is reused from one text to
 * the next. A zeroed list is an empty one; token_list_clear frees it. */
struct token_list {
	struct token *items;
	size_t n, cap;
};

/* Tokenises all of s[0..len) (see text_tokens) into l, replacing its tokens. Returns l->n. The
 * tokens are borrowed from p, as text_tokens's. */
size_t text_tokenize(struct text_pipeline *p, const char *s, size_t len, struct token_list *l);

/* Frees l's array and empties it. */
void token_list_clear(struct token_list *l);

/* True when the normalised word w[0..len) is in the stop-word list. */
bool text_is_stop_word(const char *w, size_t len);

#endif
