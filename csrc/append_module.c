/* kafkapy.log._append: the leader's append of one ordinary v2 batch, in one call.
 *
 * append_v2(segment, batch, first_offset, leader_epoch, allowed_codecs, max_size, log_start_offset,
 *           info_type) -> LogAppendInfo | None
 *
 * The C twin of the inline fast path at the top of Log.append_as_leader plus
 * LogSegment.append_armed: the same header checks and CRC-32C, the base offset and partition
 * leader epoch patched in place, one pwrite at the end of the active segment, the segment's size,
 * largest timestamp and sparse index entries updated. It returns None, having changed nothing,
 * whenever the Python code must decide: a batch that is not a plain v2 batch from a producer
 * without a producer id, a bad CRC, a codec the topic does not take, a segment not armed for
 * this append (roll decision, index room), or objects of unexpected types.
 *
 * The segment and its indexes are the Python objects themselves (LogSegment, OffsetIndex,
 * TimeIndex use __slots__): their slots are read and written through the member descriptors'
 * offsets, resolved once per class. Nothing is cached across calls but those offsets, so Python
 * code keeps owning the state. Everything is read and checked before the write; after it, only
 * an allocation failure can stop the update. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"

#define V2_HEADER 61

/* ---- slots by offset ------------------------------------------------------------------------ */
enum { S_FD, S_SIZE, S_BASE, S_INTERVAL, S_SINCE, S_MAX_TS, S_OFF_MAX_TS, S_LIM_SIZE, S_LIM_OFFSET, S_LIM_TS,
       S_OFFSET_INDEX, S_TIME_INDEX, SEG_SLOTS };
static const char *const seg_names[SEG_SLOTS] = {
    "fd", "size", "base_offset", "index_interval_bytes", "bytes_since_last_index_entry", "max_timestamp_so_far",
    "offset_of_max_timestamp_so_far", "fast_limit_size", "fast_limit_offset", "fast_limit_timestamp",
    "offset_index", "time_index"};
enum { O_MM, O_ENTRIES, O_LAST_OFFSET, OI_SLOTS };
static const char *const oi_names[OI_SLOTS] = {"_mm", "entries", "_last_offset"};
enum { T_MM, T_ENTRIES, T_LAST_TS, T_LAST_OFF, TI_SLOTS };
static const char *const ti_names[TI_SLOTS] = {"_mm", "entries", "_last_ts", "_last_off"};

typedef struct {
    PyTypeObject *type;          /* strong reference; NULL until resolved */
    PyTypeObject *refused;       /* the last type that did not resolve (borrowed, compared only) */
    Py_ssize_t offset[SEG_SLOTS];
} SlotMap;

static SlotMap seg_map, oi_map, ti_map;

/* the offsets of a class's object slots, or 0 when one is missing or not a plain slot */
static int resolve(SlotMap *map, PyTypeObject *type, const char *const *names, int count) {
    if (map->type == type) return 1;
    if (map->refused == type) return 0;
    for (int i = 0; i < count; i++) {
        PyObject *d = PyObject_GetAttrString((PyObject *)type, names[i]);
        if (d == NULL) { PyErr_Clear(); map->refused = type; return 0; }
        int ok = Py_IS_TYPE(d, &PyMemberDescr_Type) && ((PyMemberDescrObject *)d)->d_member->type == T_OBJECT_EX;
        if (ok) map->offset[i] = ((PyMemberDescrObject *)d)->d_member->offset;
        Py_DECREF(d);
        if (!ok) { map->refused = type; return 0; }
    }
    Py_XDECREF(map->type);
    Py_INCREF(type);
    map->type = type;
    return 1;
}

#define SLOT(obj, map, i) (*(PyObject **)((char *)(obj) + (map).offset[i]))

/* an int slot's value; 0 (and no exception) when unset or not an int */
static int get_ll(PyObject *obj, const SlotMap *map, int i, long long *out) {
    PyObject *v = *(PyObject **)((char *)obj + map->offset[i]);
    if (v == NULL || !PyLong_Check(v)) return 0;
    int overflow;
    *out = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (*out == -1 && PyErr_Occurred())) { PyErr_Clear(); return 0; }
    return 1;
}

/* store a new reference in a slot, dropping the old one: cannot fail */
static void swap_slot(PyObject *obj, const SlotMap *map, int i, PyObject *value) {
    PyObject **slot = (PyObject **)((char *)obj + map->offset[i]);
    PyObject *old = *slot;
    *slot = value;
    Py_XDECREF(old);
}

/* ---- big-endian fields -------------------------------------------------------------------- */
static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline int64_t be64(const uint8_t *p) { return (int64_t)(((uint64_t)be32(p) << 32) | be32(p + 4)); }
static inline void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = (uint8_t)v; }
static inline void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }

static int writable_map(PyObject *mm, Py_buffer *buf) {
    if (mm == NULL || mm == Py_None) return 0;
    if (PyObject_GetBuffer(mm, buf, PyBUF_WRITABLE) < 0) { PyErr_Clear(); return 0; }
    return 1;
}

/* ---- append_v2 ---------------------------------------------------------------------------- */
static PyObject *append_v2(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "append_v2(segment, batch, first_offset, leader_epoch, allowed_codecs, "
                                         "max_size, log_start_offset, info_type)");
        return NULL;
    }
    PyObject *seg = args[0];
    long long first = PyLong_AsLongLong(args[2]);
    long long epoch = PyLong_AsLongLong(args[3]);
    unsigned long long allowed = PyLong_AsUnsignedLongLongMask(args[4]);
    long long max_size = PyLong_AsLongLong(args[5]);
    if (PyErr_Occurred()) return NULL;
    PyObject *info_type = args[7];
    if (!PyType_Check(info_type) || !PyType_IsSubtype((PyTypeObject *)info_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "info_type must be a tuple subclass");
        return NULL;
    }
    if (!resolve(&seg_map, Py_TYPE(seg), seg_names, SEG_SLOTS)) Py_RETURN_NONE;

    Py_buffer v;
    if (PyObject_GetBuffer(args[1], &v, PyBUF_WRITABLE) < 0) { PyErr_Clear(); Py_RETURN_NONE; }
    Py_buffer oi_buf = {0}, ti_buf = {0};
    uint8_t *b = v.buf;
    Py_ssize_t n = v.len;

    /* the batch: what the inline Python fast path checks, in the same order */
    if (n < V2_HEADER || n > max_size) goto none;
    int64_t base = be64(b);
    uint32_t length = be32(b + 8);
    uint8_t magic = b[16];
    uint32_t crc = be32(b + 17);
    unsigned attrs = ((unsigned)b[21] << 8) | b[22];
    int32_t lod = (int32_t)be32(b + 23);
    int64_t max_ts = be64(b + 35);
    int64_t pid = be64(b + 43);
    int32_t count = (int32_t)be32(b + 57);
    if (base != 0 || (Py_ssize_t)length + 12 != n || magic != 2 || count <= 0 || (int64_t)count != (int64_t)lod + 1
            || pid >= 0 || !((allowed >> (attrs & 0x27)) & 1))
        goto none;
    if (~kp_crc32c_update(0xFFFFFFFFu, b + 21, (size_t)(n - 21)) != crc) goto none;

    /* the segment: armed for this append? */
    long long fd, size, seg_base, interval, since, max_ts_so_far, off_max_ts, lim_size, lim_offset, lim_ts;
    if (!get_ll(seg, &seg_map, S_LIM_SIZE, &lim_size) || !get_ll(seg, &seg_map, S_LIM_OFFSET, &lim_offset)
            || !get_ll(seg, &seg_map, S_LIM_TS, &lim_ts) || !get_ll(seg, &seg_map, S_SIZE, &size))
        goto none;
    long long last = first + lod;
    if (size + n > lim_size || last > lim_offset || max_ts > lim_ts) goto none;
    if (!get_ll(seg, &seg_map, S_FD, &fd) || !get_ll(seg, &seg_map, S_BASE, &seg_base)
            || !get_ll(seg, &seg_map, S_INTERVAL, &interval) || !get_ll(seg, &seg_map, S_SINCE, &since)
            || !get_ll(seg, &seg_map, S_MAX_TS, &max_ts_so_far) || !get_ll(seg, &seg_map, S_OFF_MAX_TS, &off_max_ts))
        goto none;
    int new_max_ts = max_ts > max_ts_so_far;
    if (new_max_ts) { max_ts_so_far = max_ts; off_max_ts = last; }

    /* the index entries this append adds, checked before anything is written */
    int index_entry = since > interval, time_entry = 0;
    PyObject *oi = NULL, *ti = NULL;
    long long oi_entries = 0, ti_entries = 0, ti_last_ts = 0;
    if (index_entry) {
        oi = SLOT(seg, seg_map, S_OFFSET_INDEX);
        ti = SLOT(seg, seg_map, S_TIME_INDEX);
        if (oi == NULL || ti == NULL || !resolve(&oi_map, Py_TYPE(oi), oi_names, OI_SLOTS)
                || !resolve(&ti_map, Py_TYPE(ti), ti_names, TI_SLOTS)
                || !get_ll(oi, &oi_map, O_ENTRIES, &oi_entries) || !get_ll(ti, &ti_map, T_LAST_TS, &ti_last_ts)
                || !get_ll(ti, &ti_map, T_ENTRIES, &ti_entries))
            goto none;
        if (!writable_map(SLOT(oi, oi_map, O_MM), &oi_buf)) goto none;
        if (oi_buf.len < (oi_entries + 1) * 8 || last - seg_base > INT32_MAX || size > INT32_MAX) goto none;
        time_entry = max_ts_so_far > ti_last_ts;
        if (time_entry) {
            if (!writable_map(SLOT(ti, ti_map, T_MM), &ti_buf)) goto none;
            if (ti_buf.len < (ti_entries + 1) * 12) goto none;
        }
    }

    /* Everything the append changes is made before the write: the answer, the new slot values and the
     * index entries (bytes past the entry counts, unseen until the counts move). After a successful write
     * only references are swapped, which cannot fail; after a failed one the prepared objects go away
     * and nothing has changed. */
    PyObject *result = NULL;
    PyObject *nv[9] = {NULL};    /* size, since, max_ts, off_max_ts, oi entries, oi last, ti entries, ti ts, ti off */
    long long since_after = index_entry ? n : since + n;
    {
        /* LogAppendInfo(first, last, max_ts, last, NO_TIMESTAMP, log_start_offset, count, bytes, 1 batch,
         * codec, codec, monotonic, epoch, epoch starts), filled in place like tuple.__new__(info_type, ...) */
        PyTypeObject *itype = (PyTypeObject *)info_type;
        PyObject *first_obj = PyLong_FromLongLong(first), *last_obj = PyLong_FromLongLong(last);
        PyObject *epoch_obj = PyLong_FromLongLong(epoch), *codec_obj = PyLong_FromLong((long)(attrs & 7));
        PyObject *epochs = NULL;
        if (first_obj && last_obj && epoch_obj && codec_obj) {
            if (epoch >= 0) {
                PyObject *pair = PyTuple_Pack(2, epoch_obj, first_obj);
                epochs = pair ? PyTuple_Pack(1, pair) : NULL;
                Py_XDECREF(pair);
            } else {
                epochs = PyTuple_New(0);
            }
        }
        if (epochs) result = itype->tp_alloc(itype, 14);
        if (result == NULL) {
            Py_XDECREF(first_obj); Py_XDECREF(last_obj); Py_XDECREF(epoch_obj); Py_XDECREF(codec_obj);
            Py_XDECREF(epochs);
            goto error;
        }
        PyObject *items[14] = {first_obj, last_obj, PyLong_FromLongLong(max_ts), last_obj, PyLong_FromLong(-1),
                               args[6], PyLong_FromLong(count), PyLong_FromSsize_t(n), PyLong_FromLong(1),
                               codec_obj, codec_obj, Py_True, epoch_obj, epochs};
        static const int owned[14] = {1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1};
        int missing = 0;
        for (int i = 0; i < 14; i++) {
            if (items[i] == NULL) { missing = 1; continue; }
            if (!owned[i]) Py_INCREF(items[i]);         /* the second reference to a shared value */
            PyTuple_SET_ITEM(result, i, items[i]);
        }
        if (missing) goto error;                        /* the tuple owns what it holds */
        nv[0] = PyLong_FromLongLong(size + n);
        nv[1] = PyLong_FromLongLong(since_after);
        if (nv[0] == NULL || nv[1] == NULL) goto error;
        if (new_max_ts) {
            nv[2] = PyLong_FromLongLong(max_ts_so_far);
            nv[3] = PyLong_FromLongLong(off_max_ts);
            if (nv[2] == NULL || nv[3] == NULL) goto error;
        }
        if (index_entry) {
            nv[4] = PyLong_FromLongLong(oi_entries + 1);
            Py_INCREF(last_obj);
            nv[5] = last_obj;
            if (nv[4] == NULL) goto error;
            put32((uint8_t *)oi_buf.buf + oi_entries * 8, (uint32_t)(last - seg_base));
            put32((uint8_t *)oi_buf.buf + oi_entries * 8 + 4, (uint32_t)size);
            if (time_entry) {
                nv[6] = PyLong_FromLongLong(ti_entries + 1);
                nv[7] = PyLong_FromLongLong(max_ts_so_far);
                nv[8] = PyLong_FromLongLong(off_max_ts);
                if (nv[6] == NULL || nv[7] == NULL || nv[8] == NULL) goto error;
                put64((uint8_t *)ti_buf.buf + ti_entries * 12, (uint64_t)max_ts_so_far);
                put32((uint8_t *)ti_buf.buf + ti_entries * 12 + 8, (uint32_t)(off_max_ts - seg_base));
            }
        }
    }

    /* the write: offsets and epoch patched, then the whole batch at the segment's end */
    put64(b, (uint64_t)first);
    put32(b + 12, (uint32_t)epoch);
    for (Py_ssize_t done = 0; done < n;) {
        ssize_t w;
        Py_BEGIN_ALLOW_THREADS
        w = pwrite((int)fd, b + done, (size_t)(n - done), (off_t)(size + done));
        Py_END_ALLOW_THREADS
        if (w < 0) {
            if (errno == EINTR && PyErr_CheckSignals() == 0) continue;
            if (!PyErr_Occurred()) PyErr_SetFromErrno(PyExc_OSError);
            goto error;
        }
        done += w;
    }

    /* the bookkeeping of LogSegment.append_armed: references swapped */
    swap_slot(seg, &seg_map, S_SIZE, nv[0]);
    swap_slot(seg, &seg_map, S_SINCE, nv[1]);
    if (new_max_ts) {
        swap_slot(seg, &seg_map, S_MAX_TS, nv[2]);
        swap_slot(seg, &seg_map, S_OFF_MAX_TS, nv[3]);
    }
    if (index_entry) {
        swap_slot(oi, &oi_map, O_ENTRIES, nv[4]);
        swap_slot(oi, &oi_map, O_LAST_OFFSET, nv[5]);
        if (time_entry) {
            swap_slot(ti, &ti_map, T_ENTRIES, nv[6]);
            swap_slot(ti, &ti_map, T_LAST_TS, nv[7]);
            swap_slot(ti, &ti_map, T_LAST_OFF, nv[8]);
        }
    }
    if (oi_buf.obj) PyBuffer_Release(&oi_buf);
    if (ti_buf.obj) PyBuffer_Release(&ti_buf);
    PyBuffer_Release(&v);
    return result;

none:
    if (oi_buf.obj) PyBuffer_Release(&oi_buf);
    if (ti_buf.obj) PyBuffer_Release(&ti_buf);
    PyBuffer_Release(&v);
    Py_RETURN_NONE;
error:
    Py_XDECREF(result);
    for (int i = 0; i < 9; i++) Py_XDECREF(nv[i]);
    if (oi_buf.obj) PyBuffer_Release(&oi_buf);
    if (ti_buf.obj) PyBuffer_Release(&ti_buf);
    PyBuffer_Release(&v);
    return NULL;
}

static PyObject *crc32c_implementation(PyObject *module, PyObject *unused) {
    return PyUnicode_FromString(kp_crc32c_impl());
}

static PyMethodDef methods[] = {
    {"append_v2", (PyCFunction)(void (*)(void))append_v2, METH_FASTCALL,
     "append_v2(segment, batch, first_offset, leader_epoch, allowed_codecs, max_size, log_start_offset, "
     "info_type) -> LogAppendInfo | None"},
    {"crc32c_implementation", crc32c_implementation, METH_NOARGS, "the CRC-32C code this module uses"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "kafkapy.log._append", "The leader's append of one v2 batch, in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__append(void) {
    kp_crc32c_init();
    return PyModule_Create(&module);
}
