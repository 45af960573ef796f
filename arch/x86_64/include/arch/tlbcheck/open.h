/*
 * arch/tlbcheck/open.h - the shadow-TLB checker's OPEN changes: changes of
 * an mm that lowered rights and whose author's flush has not returned yet
 * (arch/x86_64/tlbcheck/open.c, docs/tlbcheck.md "Concurrent changes").
 *
 * Under the write side of mm->lock one thread makes every change, and its
 * flush covers all of them.  Page faults run under the read side, several
 * at once: a copy-on-write fault's change is followed by its OWN flush,
 * and other faulters' changes may be numbered before and after it and
 * flushed later or earlier.  So a flush answers for the changes its own
 * thread (the author) made since its previous flush - not for every change
 * numbered below its token - and "every change up to done_seq was flushed"
 * holds only up to the oldest change still open.
 *
 * Per mm (inside struct tc_mm, under its lock): for each author with open
 * changes, the first and the last number it made since its last flush.
 * The author's changes in [lo, hi] are open; other numbers in between are
 * other authors'.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct tc_mm;

#define TC_OPEN 32              /* authors with open changes at once, per mm */

struct tc_open_set {
    unsigned n;
    bool overflow;              /* an author found no place: done_seq stops for good, and
                                 * every change counts as possibly open (model.c still_open) */
    struct { const void *task; uint64_t lo, hi; } e[TC_OPEN];
};

/* `author` made change `seq` of m (m->lock held). */
void tc_open_add(struct tc_mm *m, const void *author, uint64_t seq);
/* Is change `seq`, made by `author`, still open? (m->lock held) */
bool tc_open_has(const struct tc_mm *m, const void *author, uint64_t seq);
/* author's open changes: true with [*lo, *hi] if it has any (m->lock held). */
bool tc_open_range(const struct tc_mm *m, const void *author, uint64_t *lo, uint64_t *hi);
/* author's flush with `token` returned: its changes up to token are closed,
 * and m->done_seq moves to just below the oldest change still open (or to
 * m->seq when none is).  m->lock held. */
void tc_open_close(struct tc_mm *m, const void *author, uint64_t token);
