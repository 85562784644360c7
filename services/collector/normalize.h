/*
 * normalize: turns what a source delivered into the collector's normal form.
 *
 * Text: HTML tags removed (block tags and <br> become line breaks), character entities
 * decoded (named, decimal, hex), invalid UTF-8 replaced by U+FFFD, control characters dropped,
 * runs of spaces folded to one and runs of blank lines to one line break, trimmed. VK mention
 * markup "[id123|Иван]" / "[club5|Мэрия]" becomes the visible name, and its target goes to the
 * message's mentions, as do "@name" mentions; http(s) links go to its links. The text itself
 * keeps links and names, so a reader (and the classifier) sees what the citizen wrote.
 */
#ifndef COLLECTOR_NORMALIZE_H
#define COLLECTOR_NORMALIZE_H

#include <stddef.h>

#include "fields.h"
#include "message.h"

/* Normalises HTML or plain text of len bytes as described above. Caller frees. */
char *normalize_text(const char *text, size_t len);

/*
 * Finishes a message an adapter (or the ingest API) filled: normalises its text (in place),
 * fills links and mentions from it when the message has none, sets id = "source:external_id",
 * received_at = now when unset, and revision = 1 when unset; then validates the result as a
 * message.v1 record. Returns 0, or -1 with e naming the offending field (text empty after
 * normalisation, too long, an id over the limit...).
 */
int normalize_message(struct message *m, struct field_error *e);

#endif
