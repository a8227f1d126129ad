/* Compact blocks of metric rows (store_block.c): the values of one key over the rows of a chunk
 * encoded as one blob, and the chunk's layout (each row's seq and the order of its keys), from
 * which a row's JSON text is written again. Pure encoding, no SQL; store_blocks.c keeps them in
 * the database.
 *
 * A key's blob: the kinds of its cells run-length encoded (absent, integer, real, null, true,
 * false, other JSON), integers as delta-of-delta bit codes, reals as XOR against the previous
 * real (the Gorilla scheme of Facebook's time-series store) and other JSON as its text. Every
 * double keeps its bits, so values, -0.0 and integers beyond 2^53 come back exactly. */
#ifndef STORE_BLOCK_H
#define STORE_BLOCK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"

typedef enum StoreCellKind {
    STORE_CELL_ABSENT = 0,
    STORE_CELL_INT = 1,
    STORE_CELL_REAL = 2,
    STORE_CELL_NULL = 3,
    STORE_CELL_TRUE = 4,
    STORE_CELL_FALSE = 5,
    STORE_CELL_JSON = 6, /* a string, array or object: its compact JSON text */
    STORE_CELL_KINDS
} StoreCellKind;

/* one key's value in one row; text points into the blob or the caller's memory */
typedef struct StoreCell {
    unsigned char kind;
    int64_t i;
    double d;
    const char *text;
    size_t len;
} StoreCell;

/* the cell of a JSON value; a string, array or object gets its compact text, which the caller
 * frees (cell->text) */
int store_cell_from_json(const json_t *v, StoreCell *cell);

/* appends the blob of n cells to out */
int store_block_encode(const StoreCell *cells, size_t n, AgBuf *out);
/* the n cells of a blob into cells (n of them); texts point into blob. AG_EFORMAT when the blob
 * is not one of n cells */
int store_block_decode(const unsigned char *blob, size_t len, size_t n, StoreCell *cells);

/* the layout of a chunk: nrows seqs, and for each row the index of its key list among nlists
 * lists of key ids */
typedef struct StoreLayout {
    size_t nrows;
    int64_t *seqs;
    size_t nlists;
    size_t *list_len;
    int64_t **lists;
    size_t *row_list; /* per row */
} StoreLayout;

int store_layout_encode(const StoreLayout *l, AgBuf *out);
/* allocates what l points to; store_layout_free releases it */
int store_layout_decode(const unsigned char *blob, size_t len, StoreLayout *l);
void store_layout_free(StoreLayout *l);

/* appends the value of a cell as the trainer writes it (jansson's compact dump: %.17g reals
 * with ".0" when they would read back as integers) */
int store_cell_write(AgBuf *b, const StoreCell *cell);

/* the room store_cell_number_text needs */
#define STORE_CELL_NUMBER_TEXT_MAX 40
/* the text store_cell_write appends for an integer or real cell, into out (not terminated):
 * its length, or -1 for a cell of another kind */
int store_cell_number_text(const StoreCell *cell, char *out);

#endif
