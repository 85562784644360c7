/*
 * files: reading a whole file into memory, the one way models, labelled archives and demo
 * posts are loaded; and where a binary's installed data lives.
 */
#ifndef SHARED_FILES_H
#define SHARED_FILES_H

#include <stddef.h>

/*
 * Reads the file at path. Returns its bytes followed by a NUL (not counted in *len), which the
 * caller frees; or NULL with err naming the path and the reason ("cannot open: ...", "read
 * failed: ...").
 */
char *file_read(const char *path, size_t *len, char *err, size_t errlen);

/*
 * "<directory of this binary>/../share/<what>", the install layout of build/<v>/ and of the
 * images (models, taxonomy, region packs); "share/<what>" when the binary's path is unknown.
 * Caller frees.
 */
char *file_share_path(const char *what);

#endif
