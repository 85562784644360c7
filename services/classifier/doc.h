/*
 * doc: the classifier's JSON data files (the taxonomy with its urgency rules, a region pack's
 * gazetteer) parsed into a jansson document, from a file or from memory, with errors that name
 * the file, the line and the column. The one way those loaders read their input.
 */
#ifndef CLASSIFIER_DOC_H
#define CLASSIFIER_DOC_H

#include <jansson.h>
#include <stddef.h>

/*
 * Parses data[0..len) when data is not NULL, else the file at name. A member name repeated in
 * one object is an error. Returns the document (caller json_decref's it), or NULL with err
 * filled ("<name>: line 3 column 7: ...", "<name>: cannot open: ..."); err may be NULL.
 */
json_t *doc_read(const char *name, const char *data, size_t len, char *err, size_t errlen);

/*
 * Reads the document (as doc_read) and hands it to build, which returns what it made of it or
 * NULL with err filled; returns that (NULL when the document could not be read). The document
 * is freed before this returns: build copies what it keeps. The one loader of the gazetteer,
 * the taxonomy and the urgency rules, from files and from memory alike.
 */
void *doc_load(const char *name, const char *data, size_t len,
               void *(*build)(const json_t *doc, const char *name, char *err, size_t errlen),
               char *err, size_t errlen);

/* Writes a loader's error message into err[0..errlen), as snprintf; nothing when err is NULL or
 * errlen 0 (the loaders' callers may pass no buffer). */
void doc_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
