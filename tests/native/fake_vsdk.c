/*
 * fake_vsdk.c - a test double of the vendor SDK C ABI (drivers/vendor_sdk/ABI.md).
 *
 * It behaves like a FAP-60 slap scanner without hardware: captures return a
 * synthetic ridge pattern (concentric ridges inside finger-shaped ellipses,
 * dark ridges on a light platen) at 500 ppi, 400 x 500 for one finger and
 * 1600 x 1500 for a slap. Faults are scripted through fake_vsdk_* functions
 * that only the tests call.
 *
 * Build: gcc -shared -fPIC -O2 -pthread -o libfakevsdk.so fake_vsdk.c -lm
 *        (-DFAKE_ABI_VERSION=... builds a library with another ABI version)
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef FAKE_ABI_VERSION
#define FAKE_ABI_VERSION ((1 << 16) | 0)
#endif

#define VSDK_OK 0
#define VSDK_E_GENERIC -1
#define VSDK_E_TIMEOUT -2
#define VSDK_E_UNPLUGGED -3
#define VSDK_E_CANCELLED -4
#define VSDK_E_BUSY -5
#define VSDK_E_NO_DEVICE -6
#define VSDK_E_BUFFER_TOO_SMALL -7
#define VSDK_E_BAD_ARGUMENT -8
#define VSDK_E_ACCESS -9
#define VSDK_E_CORRUPT -10

#define VSDK_CAP_FLAT_SINGLE 0x1u
#define VSDK_CAP_ROLLED_SINGLE 0x2u
#define VSDK_CAP_FOUR_SLAP 0x4u
#define VSDK_CAP_TWO_THUMBS 0x8u
#define VSDK_ROLLED (1u << 16)

/* Scripted behaviour of the next captures (fake_vsdk_set_fault). */
enum fake_fault {
    FAKE_OK = 0,
    FAKE_NO_FINGER = 1,   /* wait for timeout or cancel */
    FAKE_UNPLUG = 2,      /* device disappears during the capture */
    FAKE_BUSY = 3,        /* vsdk_open: claimed by another process */
    FAKE_CORRUPT = 4,     /* one corrupt transfer, then good again */
    FAKE_SMALL_INFO = 5,  /* vsdk_info under-reports max size */
};

typedef struct {
    uint32_t struct_size;
    char vendor[64];
    char model[64];
    char serial[64];
    char firmware[32];
    uint16_t usb_vid, usb_pid;
    uint32_t max_width, max_height;
    uint32_t native_ppi;
    uint32_t capabilities;
} vsdk_info_t;

typedef struct vsdk_device {
    int index;
    int cancelled;
    int capturing;
    char last_error[128];
} vsdk_device;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int fault = FAKE_OK;
static int unplugged = 0;
static int open_handles = 0;
static int captures = 0;
static char open_error[128] = "";

/* ------------------------------------------------------------ test controls */

void fake_vsdk_set_fault(int f) {
    pthread_mutex_lock(&lock);
    fault = f;
    pthread_mutex_unlock(&lock);
}

void fake_vsdk_replug(void) {
    pthread_mutex_lock(&lock);
    unplugged = 0;
    pthread_mutex_unlock(&lock);
}

int fake_vsdk_open_handles(void) { return open_handles; }
int fake_vsdk_captures(void) { return captures; }

/* ---------------------------------------------------------------- helpers */

static void set_error(vsdk_device *dev, const char *text) {
    snprintf(dev ? dev->last_error : open_error, 128, "%s", text);
}

static void deadline_after(struct timespec *ts, int32_t ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec += 1;
        ts->tv_nsec -= 1000000000L;
    }
}

static int popcount(uint32_t v) {
    int n = 0;
    for (; v; v &= v - 1) n++;
    return n;
}

/* Concentric ridges (period ~9 px at 500 ppi) inside one fingertip ellipse. */
static void draw_finger(uint8_t *img, uint32_t w, uint32_t h, double cx, double cy,
                        double rx, double ry, double phase) {
    int x0 = (int)(cx - rx), x1 = (int)(cx + rx), y0 = (int)(cy - ry), y1 = (int)(cy + ry);
    for (int y = y0 < 0 ? 0 : y0; y < (y1 > (int)h ? (int)h : y1); y++) {
        for (int x = x0 < 0 ? 0 : x0; x < (x1 > (int)w ? (int)w : x1); x++) {
            double dx = (x - cx) / rx, dy = (y - cy) / ry;
            double e = dx * dx + dy * dy;
            if (e > 1.0) continue;
            double r = sqrt((x - cx) * (x - cx) + 0.6 * (y - cy) * (y - cy));
            double ridge = 0.5 + 0.5 * cos(2.0 * M_PI * r / 9.0 + phase);
            double fade = e > 0.8 ? (1.0 - e) / 0.2 : 1.0;
            double v = 230.0 - 180.0 * ridge * fade;
            img[(size_t)y * w + x] = (uint8_t)(v < 0 ? 0 : v);
        }
    }
}

static void render(uint32_t mask, uint8_t *img, uint32_t w, uint32_t h) {
    memset(img, 230, (size_t)w * h);
    if (w == 400) {
        draw_finger(img, w, h, 200, 250, 150, 210, (double)captures);
        return;
    }
    int slot = 0, fingers = popcount(mask & 0x7FEu);
    for (int f = 1; f <= 10; f++) {
        if (!(mask & (1u << f))) continue;
        double cx = (slot + 0.5) * (double)w / fingers;
        draw_finger(img, w, h, cx, 600 + 80 * (slot % 2), 150, 230, f + (double)captures);
        slot++;
    }
}

/* ------------------------------------------------------------------ the ABI */

int32_t vsdk_abi_version(void) { return FAKE_ABI_VERSION; }

int32_t vsdk_open(int32_t index, vsdk_device **handle) {
    if (!handle) return VSDK_E_BAD_ARGUMENT;
    pthread_mutex_lock(&lock);
    int f = fault, gone = unplugged;
    pthread_mutex_unlock(&lock);
    if (index != 0 || gone) {
        set_error(NULL, "no fake reader at this index");
        return VSDK_E_NO_DEVICE;
    }
    if (f == FAKE_BUSY) {
        set_error(NULL, "fake reader claimed by another process");
        return VSDK_E_BUSY;
    }
    vsdk_device *dev = calloc(1, sizeof *dev);
    if (!dev) return VSDK_E_GENERIC;
    dev->index = index;
    __sync_fetch_and_add(&open_handles, 1);
    *handle = dev;
    return VSDK_OK;
}

int32_t vsdk_info(vsdk_device *dev, vsdk_info_t *info) {
    if (!dev || !info || info->struct_size < sizeof(vsdk_info_t)) return VSDK_E_BAD_ARGUMENT;
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    snprintf(info->vendor, sizeof info->vendor, "Fake Biometrics");
    snprintf(info->model, sizeof info->model, "FAKE-FAP60");
    snprintf(info->serial, sizeof info->serial, "FK60-000042");
    snprintf(info->firmware, sizeof info->firmware, "3.1.4");
    info->usb_vid = 0x1234;
    info->usb_pid = 0x5678;
    int small = fault == FAKE_SMALL_INFO;
    info->max_width = small ? 400 : 1600;
    info->max_height = small ? 500 : 1500;
    info->native_ppi = 500;
    info->capabilities = VSDK_CAP_FLAT_SINGLE | VSDK_CAP_FOUR_SLAP | VSDK_CAP_TWO_THUMBS;
    return VSDK_OK;
}

int32_t vsdk_capture(vsdk_device *dev, uint32_t finger_mask, int32_t timeout_ms,
                     uint8_t *buffer, uint32_t buffer_len,
                     uint32_t *width, uint32_t *height, uint32_t *ppi) {
    if (!dev || !buffer || !width || !height || !ppi || timeout_ms < 0) return VSDK_E_BAD_ARGUMENT;
    int fingers = popcount(finger_mask & 0x7FEu);
    if (fingers == 0 || (finger_mask & VSDK_ROLLED)) {
        set_error(dev, "unsupported finger mask");
        return VSDK_E_BAD_ARGUMENT;
    }
    uint32_t w = fingers == 1 ? 400 : 1600, h = fingers == 1 ? 500 : 1500;
    if ((uint64_t)w * h > buffer_len) {
        *width = w;
        *height = h;
        set_error(dev, "buffer too small");
        return VSDK_E_BUFFER_TOO_SMALL;
    }
    pthread_mutex_lock(&lock);
    if (dev->capturing) {
        pthread_mutex_unlock(&lock);
        return VSDK_E_BUSY;
    }
    dev->capturing = 1;
    dev->cancelled = 0;
    struct timespec until;
    int rc = VSDK_OK;
    /* The "applicant" needs 50 ms to place the finger, unless scripted otherwise. */
    int wait_ms = fault == FAKE_NO_FINGER ? timeout_ms : (timeout_ms < 50 ? timeout_ms : 50);
    deadline_after(&until, wait_ms);
    while (!dev->cancelled && !unplugged) {
        if (pthread_cond_timedwait(&wake, &lock, &until) == ETIMEDOUT) break;
    }
    if (dev->cancelled) {
        rc = VSDK_E_CANCELLED;
        set_error(dev, "capture cancelled");
    } else if (unplugged || fault == FAKE_UNPLUG) {
        unplugged = 1;
        rc = VSDK_E_UNPLUGGED;
        set_error(dev, "fake reader unplugged");
    } else if (fault == FAKE_NO_FINGER || wait_ms < 50) {
        rc = VSDK_E_TIMEOUT;
        set_error(dev, "no finger within the timeout");
    } else if (fault == FAKE_CORRUPT) {
        fault = FAKE_OK;
        rc = VSDK_E_CORRUPT;
        set_error(dev, "image transfer failed");
    }
    dev->capturing = 0;
    pthread_mutex_unlock(&lock);
    if (rc != VSDK_OK) return rc;
    render(finger_mask, buffer, w, h);
    *width = w;
    *height = h;
    *ppi = 500;
    __sync_fetch_and_add(&captures, 1);
    return VSDK_OK;
}

int32_t vsdk_cancel(vsdk_device *dev) {
    if (!dev) return VSDK_E_BAD_ARGUMENT;
    pthread_mutex_lock(&lock);
    if (dev->capturing) dev->cancelled = 1;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    return VSDK_OK;
}

int32_t vsdk_close(vsdk_device *dev) {
    if (!dev) return VSDK_E_BAD_ARGUMENT;
    free(dev);
    __sync_fetch_and_sub(&open_handles, 1);
    return VSDK_OK;
}

int32_t vsdk_last_error(vsdk_device *dev, char *buf, uint32_t len) {
    const char *text = dev ? dev->last_error : open_error;
    if (buf && len > 0) snprintf(buf, len, "%s", text);
    return (int32_t)strlen(text);
}
