/* What the HDF5 writer and reader share (an_h5_write.c, an_h5_read.c): group names and the
 * handling of HDF5's error stack. Not for use outside an_h5_*.c. */
#ifndef AN_H5_INT_H
#define AN_H5_INT_H

#include <hdf5.h>
#include <stddef.h>

#define AN_H5_GROUP_INDEX     "/index"
#define AN_H5_GROUP_LAYERS    "/layers"
#define AN_H5_GROUP_VARIABLES "/variables"
#define AN_H5_INDEX_EPISODE   "/index/episode"
#define AN_H5_INDEX_STEP      "/index/step"

/* the first call of every entry point: turns off HDF5's exit handler while the library has not
 * started yet (an_h5.h, DESIGN), and its printing of its error stack to stderr (errors are
 * reported as messages) */
void an_h5_init(void);
/* the innermost message on HDF5's error stack as ": message" (or "" when there is none) into
 * out, then clears the stack; a failed system call gives the system's words only */
void an_h5_reason(char *out, size_t out_sz);
/* a new variable-length UTF-8 string type (close with H5Tclose) */
hid_t an_h5_string_type(void);

#endif
