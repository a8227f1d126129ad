/* The experiments and checks the tests of server/store/store_exp_list.c share. */
#ifndef ANGORA_EXP_LIST_FIXTURE_H
#define ANGORA_EXP_LIST_FIXTURE_H

#include "store.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

void exec_sql(sqlite3 *db, const char *sql);
int64_t add_exp(Store *s, const char *name, const char *task, const char *tags, const char *notes,
                int priority);
void ingest1(Store *s, int64_t id, const char *line);
/* copies more rows of experiment id through h (its tags too), with new ids: many experiments
 * without one transaction each */
void copy_exp(sqlite3 *h, int64_t id, int copies);
/* 45 experiments of two tasks and every state: what the API can store and what only an older
 * daemon or a hand edit could */
void fill(Store *s, const char *db_path);
/* what only an older daemon or a hand edit leaves in the rows of fill */
void fill_odd(const char *db_path);
/* a new database (store_test_db_new) at migration `version`, filled by fill then fill_odd, and
 * opened again */
Store *filled_at(int version, char *mig, size_t mig_sz, char *db, size_t db_sz);
/* every page of one listing through both paths: the same text, the same cursors */
void compare_listing(Store *s, StoreExpFilter f);
/* every page of f as text, each followed by its next cursor; the caller frees it */
char *listing_text(Store *s, StoreExpFilter f);
int64_t sql_int(const char *db_path, const char *sql);
/* the plan of the page f would run now, its lines joined by "; " */
void plan_of(Store *s, sqlite3 *h, StoreExpFilter f, char *plan, size_t plan_sz);
/* every experiment of a listing once, paging through f (ids under 400) */
int listed_count(Store *s, StoreExpFilter f);
/* the index a plan reads experiments by ("USING INDEX name") into name (at most 127 bytes) */
int plan_index(const char *plan, char *name);
/* 1 when the index holds the column */
int index_has_column(sqlite3 *h, const char *index, const char *column);

#endif
