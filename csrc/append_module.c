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
 * The numbers the append reads and writes live in C structs that LogSegment and the indexes are
 * built on (SegmentCore, IndexCore below: Python sees them as ordinary int attributes), a few cache
 * lines instead of a dozen scattered int objects: after the kernel's copy of the batch, every line
 * touched is a likely miss. The object references (the segment's indexes, an index's mapping) are
 * __slots__ of the Python classes, read through the member descriptors' offsets, resolved once per
 * class. Everything is read, checked and prepared before the write; after it only C fields change. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"

#define V2_HEADER 61

/* ---- the C cores of LogSegment and the indexes ---------------------------------------------- */
typedef struct {
    PyObject_HEAD
    long long fd, size, base_offset, index_interval_bytes, bytes_since_last_index_entry, max_timestamp_so_far,
        offset_of_max_timestamp_so_far, fast_limit_size, fast_limit_offset, fast_limit_timestamp;
} SegmentCore;

#define SEG_MEMBER(name, doc) {#name, T_LONGLONG, offsetof(SegmentCore, name), 0, doc}
static PyMemberDef segment_members[] = {
    SEG_MEMBER(fd, "the .log file's descriptor"),
    SEG_MEMBER(size, "bytes of entries in the .log file"),
    SEG_MEMBER(base_offset, "the segment's base offset"),
    SEG_MEMBER(index_interval_bytes, "bytes between index entries"),
    SEG_MEMBER(bytes_since_last_index_entry, "bytes appended since the last index entry"),
    SEG_MEMBER(max_timestamp_so_far, "the largest timestamp in the segment (-1: none)"),
    SEG_MEMBER(offset_of_max_timestamp_so_far, "the offset of that timestamp (-1: none)"),
    SEG_MEMBER(fast_limit_size, "armed fast append: the size it may reach (-1: not armed)"),
    SEG_MEMBER(fast_limit_offset, "armed fast append: the last offset it may take"),
    SEG_MEMBER(fast_limit_timestamp, "armed fast append: the largest timestamp it may take"),
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject SegmentCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kafkapy.log._append.SegmentCore",
    .tp_doc = "The numbers of a LogSegment that the C append reads and writes (its base class).",
    .tp_basicsize = sizeof(SegmentCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_members = segment_members,
};

typedef struct {
    PyObject_HEAD
    long long entries, last_offset, last_ts, last_off;
} IndexCore;

static PyMemberDef index_members[] = {
    {"entries", T_LONGLONG, offsetof(IndexCore, entries), 0, "valid entries"},
    {"_last_offset", T_LONGLONG, offsetof(IndexCore, last_offset), 0, "offset index: the last entry's offset"},
    {"_last_ts", T_LONGLONG, offsetof(IndexCore, last_ts), 0, "time index: the last entry's timestamp"},
    {"_last_off", T_LONGLONG, offsetof(IndexCore, last_off), 0, "time index: the last entry's offset"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject IndexCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kafkapy.log._append.IndexCore",
    .tp_doc = "The numbers of an offset or time index that the C append reads and writes (their base class).",
    .tp_basicsize = sizeof(IndexCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_members = index_members,
};

/* ---- object slots by offset ----------------------------------------------------------------- */
enum { S_OFFSET_INDEX, S_TIME_INDEX, SEG_SLOTS };
static const char *const seg_names[SEG_SLOTS] = {"offset_index", "time_index"};
enum { I_MM, INDEX_SLOTS };
static const char *const index_names[INDEX_SLOTS] = {"_mm"};

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
    if (!PyObject_TypeCheck(seg, &SegmentCoreType) || !resolve(&seg_map, Py_TYPE(seg), seg_names, SEG_SLOTS))
        Py_RETURN_NONE;
    SegmentCore *sc = (SegmentCore *)seg;

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
    long long size = sc->size;
    long long last = first + lod;
    if (size + n > sc->fast_limit_size || last > sc->fast_limit_offset || max_ts > sc->fast_limit_timestamp) goto none;
    long long seg_base = sc->base_offset;
    long long max_ts_so_far = sc->max_timestamp_so_far, off_max_ts = sc->offset_of_max_timestamp_so_far;
    if (max_ts > max_ts_so_far) { max_ts_so_far = max_ts; off_max_ts = last; }

    /* the index entries this append adds, checked before anything is written */
    int index_entry = sc->bytes_since_last_index_entry > sc->index_interval_bytes, time_entry = 0;
    IndexCore *oi = NULL, *ti = NULL;
    if (index_entry) {
        PyObject *o = SLOT(seg, seg_map, S_OFFSET_INDEX), *t = SLOT(seg, seg_map, S_TIME_INDEX);
        if (o == NULL || t == NULL || !PyObject_TypeCheck(o, &IndexCoreType) || !PyObject_TypeCheck(t, &IndexCoreType)
                || !resolve(&oi_map, Py_TYPE(o), index_names, INDEX_SLOTS)
                || !resolve(&ti_map, Py_TYPE(t), index_names, INDEX_SLOTS))
            goto none;
        oi = (IndexCore *)o;
        ti = (IndexCore *)t;
        if (!writable_map(SLOT(o, oi_map, I_MM), &oi_buf)) goto none;
        if (oi_buf.len < (oi->entries + 1) * 8 || last - seg_base > INT32_MAX || size > INT32_MAX) goto none;
        time_entry = max_ts_so_far > ti->last_ts;
        if (time_entry) {
            if (!writable_map(SLOT(t, ti_map, I_MM), &ti_buf)) goto none;
            if (ti_buf.len < (ti->entries + 1) * 12) goto none;
        }
    }

    /* The answer is made before the write (only it can fail: an allocation); after a successful write
     * only C fields change, after a failed one nothing has. */
    PyObject *result = NULL;
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
    }

    /* the write: offsets and epoch patched, then the whole batch at the segment's end */
    put64(b, (uint64_t)first);
    put32(b + 12, (uint32_t)epoch);
    for (Py_ssize_t done = 0; done < n;) {
        ssize_t w;
        Py_BEGIN_ALLOW_THREADS
        w = pwrite((int)sc->fd, b + done, (size_t)(n - done), (off_t)(size + done));
        Py_END_ALLOW_THREADS
        if (w < 0) {
            if (errno == EINTR && PyErr_CheckSignals() == 0) continue;
            if (!PyErr_Occurred()) PyErr_SetFromErrno(PyExc_OSError);
            goto error;
        }
        done += w;
    }

    /* the bookkeeping of LogSegment.append_armed */
    if (index_entry) {
        uint8_t *e = (uint8_t *)oi_buf.buf + oi->entries * 8;
        put32(e, (uint32_t)(last - seg_base));
        put32(e + 4, (uint32_t)size);
        oi->entries += 1;
        oi->last_offset = last;
        if (time_entry) {
            e = (uint8_t *)ti_buf.buf + ti->entries * 12;
            put64(e, (uint64_t)max_ts_so_far);
            put32(e + 8, (uint32_t)(off_max_ts - seg_base));
            ti->entries += 1;
            ti->last_ts = max_ts_so_far;
            ti->last_off = off_max_ts;
        }
        sc->bytes_since_last_index_entry = n;
    } else {
        sc->bytes_since_last_index_entry += n;
    }
    sc->size = size + n;
    sc->max_timestamp_so_far = max_ts_so_far;
    sc->offset_of_max_timestamp_so_far = off_max_ts;
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
    if (oi_buf.obj) PyBuffer_Release(&oi_buf);
    if (ti_buf.obj) PyBuffer_Release(&ti_buf);
    PyBuffer_Release(&v);
    return NULL;
}

static PyMethodDef methods[] = {
    {"append_v2", (PyCFunction)(void (*)(void))append_v2, METH_FASTCALL,
     "append_v2(segment, batch, first_offset, leader_epoch, allowed_codecs, max_size, log_start_offset, "
     "info_type) -> LogAppendInfo | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "kafkapy.log._append", "The leader's append of one v2 batch, in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__append(void) {
    kp_crc32c_init();
    if (PyType_Ready(&SegmentCoreType) < 0 || PyType_Ready(&IndexCoreType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&SegmentCoreType);
    Py_INCREF(&IndexCoreType);
    if (PyModule_AddObject(m, "SegmentCore", (PyObject *)&SegmentCoreType) < 0
            || PyModule_AddObject(m, "IndexCore", (PyObject *)&IndexCoreType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
