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
 * process died inside a write) is ignored, and opening the journal cuts it off so that new
 * records follow the valid ones.  A journal is locked (flock) while open.
 */
#pragma once

#include "ns-edit.h"
#include "ns-history.h"

G_BEGIN_DECLS

typedef struct _NsJournal NsJournal;

/* The journal file of a case (a folder or a mask path; need not exist). */
char       *ns_journal_path_for_case  (const char *case_path);

/* Opens (creating folders and file) the journal of case_path; the records already in it
 * (from a session that did not save) are read, validated and kept for replay. */
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
 * describe map against the saved file) and n_recoverable becomes 0.  Fails (map
 * untouched) when a record does not fit the map's voxel count. */
gboolean    ns_journal_replay         (NsJournal *journal, NsLabelMap *map,
                                       NsHistory *history, guint *n_replayed, GError **error);

/* Queues change (referenced) for the writer; forward FALSE records an undo.  Never blocks
 * on disk.  If records from a previous session are still pending they are discarded
 * first (they no longer describe the mask). */
void        ns_journal_append         (NsJournal *journal, NsEditChange *change,
                                       gboolean forward);
/* Waits until everything queued is written and synced; the writer's first error, if any. */
gboolean    ns_journal_flush          (NsJournal *journal, GError **error);
/* After a clean save (or to discard a recovery): waits for the writer, empties the file
 * and syncs it. */
gboolean    ns_journal_truncate       (NsJournal *journal, GError **error);
/* The saved mask the next records apply to (e.g. its SHA-256): written as a marker
 * record before the first record after open, set_base or truncate, so that a recovery
 * can tell whether the file on disk is still the one the edits were made on. */
void        ns_journal_set_base       (NsJournal *journal, const char *base_id);
/* The first marker found at open (NULL: none, e.g. a journal written without one). */
const char *ns_journal_get_recorded_base (const NsJournal *journal);
/* Records written since open or the last truncation (recovered ones and base markers
 * included). */
guint64     ns_journal_n_records      (const NsJournal *journal);
/* Flushes, stops the writer, closes; an empty journal file is removed. */
void        ns_journal_close          (NsJournal *journal);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsJournal, ns_journal_close)

G_END_DECLS
