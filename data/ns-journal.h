/* SPDX-License-Identifier: MIT
 *
 * ns-journal.h: the crash journal of a case's mask edits.
 *
 * Every committed edit (and every undo and redo) is appended to a journal file for the
 * case, so that after a crash or a SIGKILL the edits made since the last save can be
 * replayed onto the saved mask.  Appending never touches the disk on the calling thread:
 * the change is referenced and queued (GAsyncQueue) for a writer thread that writes it as
 * soon as it arrives and fdatasync()s after each burst, well within a second.  A clean
 * save truncates the journal.
 *
 * Where: $NEUROSEG_DATA_DIR/journal/<hash>.journal when that variable is set (tests), else
 * g_get_user_data_dir()/neuroseg/journal/<hash>.journal, with <hash> the first 32 hex
 * digits of the SHA-256 of the case's canonical path.
 *
 * Format (little-endian), a sequence of records:
 *
 *   u32 magic "NSJ1" | u64 sequence (1, 2, ...) | u32 payload length | u32 CRC-32
 *   payload: u8 kind (1: apply new values, 0: undo: apply old values, 2: base marker,
 *            no voxels, the name identifies the saved mask the edits apply to) | u8 pad[3] |
 *            i64 time (µs) | u64 voxels of the map | u64 n | u16 name length | name |
 *            u32 index[n] | u8 old[n] | u8 new[n]
 *
 * The CRC-32 (zlib) covers the sequence, the length and the payload.  Reading stops at the
 * first record that is short, has a bad magic, CRC or sequence: a torn last record (the
 * process died inside a write) is left out, and opening the journal cuts it off so that
 * new records follow the valid ones; ns_journal_get_dropped () says what was left out.  A
 * journal is locked (flock) while open.  Only a regular file is a journal: a symbolic
 * link, a FIFO or a device at its path is refused (never followed, never read), and so is
 * a file larger than the memory available can read back.
 *
 * Write errors (a full disk, EIO): the first one stops journaling until the next
 * ns_journal_truncate () (a save), since a record missing in the middle would make a
 * recovery replay a state that never was.  The owner is told at once through
 * ns_journal_set_error_func (); nothing clears an error that was not reported.
 */
#pragma once

#include "ns-edit.h"
#include "ns-history.h"

G_BEGIN_DECLS

typedef struct _NsJournal NsJournal;

/* Called once for the writer's first error (NS_EDIT_ERROR_JOURNAL, naming the file and the
 * reason, e.g. "…/x.journal: cannot append to the journal: No space left on device"), from
 * an idle source in the GMainContext that was thread-default when the journal was opened.
 * From then on edits are not journaled: the UI says "edits are no longer protected:
 * <message>" and keeps offering to save. */
typedef void (*NsJournalErrorFunc) (NsJournal *journal, const GError *error,
                                    gpointer user_data);

/* The journal file of a case (a folder or a mask path; need not exist). */
char       *ns_journal_path_for_case  (const char *case_path);

/* Opens (creating folders and file) the journal of case_path; the records already in it
 * (from a session that did not save) are read, validated and kept for replay.  The
 * thread-default main context at this call is where the error func will be called. */
NsJournal  *ns_journal_open           (const char *case_path, GError **error);
/* The same for an explicit journal file. */
NsJournal  *ns_journal_open_path      (const char *path, GError **error);
const char *ns_journal_get_path       (const NsJournal *journal);

/* Records found at open that have not been replayed or discarded: non-zero means a
 * previous session ended without saving ("recover unsaved edits?"). */
guint       ns_journal_n_recoverable  (const NsJournal *journal);
/* Applies those records to map (the last saved mask), in order.  With history, each is
 * also pushed as one entry (an undo record as the inverse change, named "Undo NAME"), so
 * the recovered edits can be undone.  The records stay in the journal (they still
 * describe map against the saved file) and n_recoverable becomes 0.  A record for a mask
 * of another voxel count is left out (n_replayed counts those applied) and
 * ns_journal_get_dropped () says which; when no record fits, fails with map untouched. */
gboolean    ns_journal_replay         (NsJournal *journal, NsLabelMap *map,
                                       NsHistory *history, guint *n_replayed, GError **error);
/* What recovery had to leave out, in one line naming the journal and why (a torn or
 * damaged tail found at open, records for a mask of another size skipped by replay), or
 * NULL when nothing was. */
const char *ns_journal_get_dropped    (const NsJournal *journal);

/* Queues change (referenced) for the writer; forward FALSE records an undo.  Never blocks
 * on disk.  If records from a previous session are still pending they are discarded
 * first (they no longer describe the mask). */
void        ns_journal_append         (NsJournal *journal, NsEditChange *change,
                                       gboolean forward);
/* Waits until everything queued is written and synced; the writer's first error, if any. */
gboolean    ns_journal_flush          (NsJournal *journal, GError **error);
/* After a clean save (or to discard a recovery): waits for the writer, empties the file
 * and syncs it.  On success an earlier write error is cleared (what it left unprotected
 * is saved) and journaling resumes; ns_journal_dup_error () is NULL again. */
gboolean    ns_journal_truncate       (NsJournal *journal, GError **error);
/* Sets the function told of the writer's first error (see NsJournalErrorFunc); an error
 * that happened before is reported now (from an idle source).  destroy (may be NULL)
 * frees user_data when replaced or at close.  func NULL: no reports. */
void        ns_journal_set_error_func (NsJournal *journal, NsJournalErrorFunc func,
                                       gpointer user_data, GDestroyNotify destroy);
/* The writer's error since open or the last truncation (a copy, free it), or NULL while
 * edits are protected. */
GError     *ns_journal_dup_error      (NsJournal *journal);
/* The saved mask the next records apply to (e.g. its SHA-256): written as a marker
 * record before the first record after open, set_base or truncate, so that a recovery
 * can tell whether the file on disk is still the one the edits were made on. */
void        ns_journal_set_base       (NsJournal *journal, const char *base_id);
/* The first marker found at open (NULL: none, e.g. a journal written without one). */
const char *ns_journal_get_recorded_base (const NsJournal *journal);
/* Records written since open or the last truncation (recovered ones and base markers
 * included). */
guint64     ns_journal_n_records      (const NsJournal *journal);
/* Flushes, stops the writer, closes; an empty journal file is removed.  Returns FALSE
 * with the writer's error when nobody was told of it yet (no error func ran, no flush or
 * truncate returned it), the last sync's failure included.  Call it from the thread that
 * runs the context the error func is called in. */
gboolean    ns_journal_close_full     (NsJournal *journal, GError **error);
/* ns_journal_close_full () that logs such an error with g_warning (). */
void        ns_journal_close          (NsJournal *journal);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsJournal, ns_journal_close)

G_END_DECLS
