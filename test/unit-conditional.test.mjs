// Table tests of the one precondition evaluator (src/conditional.ts), one row
// per line of RFC 9110 13.2.2's decision list, then each condition's three
// states; and of Range resolution against sizes (src/static/range.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluatePreconditions,
  checkIfMatch,
  checkIfUnmodifiedSince,
  checkIfNoneMatch,
  checkIfModifiedSince,
  checkIfRange,
} from '../dist/conditional.js';
import { resolveRanges, MAX_RANGES } from '../dist/static/range.js';

const ETAG = '"400-5f3a"';
const LAST_MODIFIED = 'Sun, 06 Nov 1994 08:49:37 GMT';
const MTIME_S = Date.parse(LAST_MODIFIED) / 1000;
const V = { etag: ETAG, lastModified: LAST_MODIFIED, mtimeS: MTIME_S };
const EARLIER = 'Sun, 06 Nov 1994 08:49:36 GMT';
const LATER = 'Sun, 06 Nov 1994 08:49:38 GMT';
const OTHER = '"400-aaaa"';

// [step, what, method, headers, verdict]
const DECISIONS = [
  // 1. If-Match: false → 412 (strong comparison).
  ['1', 'If-Match with the current tag', 'GET', { 'if-match': ETAG }, 'send'],
  ['1', 'If-Match: *', 'GET', { 'if-match': '*' }, 'send'],
  ['1', 'If-Match list holding the tag', 'GET', { 'if-match': `${OTHER}, ${ETAG}` }, 'send'],
  ['1', 'If-Match with another tag', 'GET', { 'if-match': OTHER }, 'precondition-failed'],
  ['1', 'If-Match with the weak twin (strong comparison fails)', 'GET', { 'if-match': `W/${ETAG}` }, 'precondition-failed'],
  ['1', 'If-Match empty: an empty list matches nothing', 'GET', { 'if-match': '' }, 'precondition-failed'],
  ['1', 'If-Match false wins over a matching If-None-Match', 'GET', { 'if-match': OTHER, 'if-none-match': ETAG }, 'precondition-failed'],
  ['1', 'If-Match true: If-Unmodified-Since is not evaluated', 'GET', { 'if-match': ETAG, 'if-unmodified-since': EARLIER }, 'send'],
  ['1', 'If-Match on PUT with another tag', 'PUT', { 'if-match': OTHER }, 'precondition-failed'],
  // 2. If-Unmodified-Since (only without If-Match): false → 412.
  ['2', 'If-Unmodified-Since at Last-Modified (equal seconds)', 'GET', { 'if-unmodified-since': LAST_MODIFIED }, 'send'],
  ['2', 'If-Unmodified-Since later', 'GET', { 'if-unmodified-since': LATER }, 'send'],
  ['2', 'If-Unmodified-Since earlier', 'GET', { 'if-unmodified-since': EARLIER }, 'precondition-failed'],
  ['2', 'If-Unmodified-Since invalid is ignored', 'GET', { 'if-unmodified-since': 'yesterday' }, 'send'],
  ['2', 'If-Unmodified-Since empty is ignored', 'GET', { 'if-unmodified-since': '' }, 'send'],
  ['2', 'If-Unmodified-Since false before a matching If-None-Match', 'GET', { 'if-unmodified-since': EARLIER, 'if-none-match': ETAG }, 'precondition-failed'],
  // 3. If-None-Match: false → 304 for GET/HEAD, 412 otherwise (weak comparison).
  ['3', 'If-None-Match with the current tag', 'GET', { 'if-none-match': ETAG }, 'not-modified'],
  ['3', 'If-None-Match with the current tag, HEAD', 'HEAD', { 'if-none-match': ETAG }, 'not-modified'],
  ['3', 'If-None-Match with the weak twin (weak comparison)', 'GET', { 'if-none-match': `W/${ETAG}` }, 'not-modified'],
  ['3', 'If-None-Match: *', 'GET', { 'if-none-match': '*' }, 'not-modified'],
  ['3', 'If-None-Match list holding the tag', 'GET', { 'if-none-match': `${OTHER},${ETAG}` }, 'not-modified'],
  ['3', 'If-None-Match list holding the weak twin', 'GET', { 'if-none-match': `${OTHER}, W/${ETAG}` }, 'not-modified'],
  ['3', 'If-None-Match with another tag', 'GET', { 'if-none-match': OTHER }, 'send'],
  ['3', 'If-None-Match with another tag and an unmodified If-Modified-Since (IMS not evaluated)', 'GET', { 'if-none-match': OTHER, 'if-modified-since': LATER }, 'send'],
  ['3', 'If-None-Match matching with an old If-Modified-Since (IMS not evaluated)', 'GET', { 'if-none-match': ETAG, 'if-modified-since': EARLIER }, 'not-modified'],
  ['3', 'If-None-Match matching on POST → 412', 'POST', { 'if-none-match': ETAG }, 'precondition-failed'],
  ['3', 'If-None-Match: * on PUT → 412', 'PUT', { 'if-none-match': '*' }, 'precondition-failed'],
  ['3', 'If-None-Match not matching on POST', 'POST', { 'if-none-match': OTHER }, 'send'],
  ['3', 'If-None-Match empty counts as absent: If-Modified-Since decides', 'GET', { 'if-none-match': '', 'if-modified-since': LAST_MODIFIED }, 'not-modified'],
  ['3', 'request Cache-Control: no-cache skips it (as `fresh` did)', 'GET', { 'if-none-match': ETAG, 'cache-control': 'no-cache' }, 'send'],
  ['3', 'request Cache-Control: max-age=0 does not', 'GET', { 'if-none-match': ETAG, 'cache-control': 'max-age=0' }, 'not-modified'],
  ['3', 'request Cache-Control: no-cache does not skip If-Match', 'GET', { 'if-match': OTHER, 'cache-control': 'no-cache' }, 'precondition-failed'],
  // 4. If-Modified-Since (only without If-None-Match, only GET/HEAD): false → 304.
  ['4', 'If-Modified-Since at Last-Modified (equal seconds)', 'GET', { 'if-modified-since': LAST_MODIFIED }, 'not-modified'],
  ['4', 'If-Modified-Since later', 'HEAD', { 'if-modified-since': LATER }, 'not-modified'],
  ['4', 'If-Modified-Since earlier', 'GET', { 'if-modified-since': EARLIER }, 'send'],
  ['4', 'If-Modified-Since invalid is ignored', 'GET', { 'if-modified-since': 'not a date' }, 'send'],
  ['4', 'If-Modified-Since on POST is not evaluated', 'POST', { 'if-modified-since': LATER }, 'send'],
  ['4', 'If-Modified-Since with Cache-Control: no-cache', 'GET', { 'if-modified-since': LATER, 'cache-control': 'no-cache' }, 'send'],
  // 5. If-Range (with a Range, GET/HEAD): false → the whole representation.
  ['5', 'Range and If-Range with the current tag', 'GET', { range: 'bytes=0-1', 'if-range': ETAG }, 'send'],
  ['5', 'Range and If-Range with another tag', 'GET', { range: 'bytes=0-1', 'if-range': OTHER }, 'send-whole'],
  ['5', 'Range and If-Range with the weak twin (never matches)', 'GET', { range: 'bytes=0-1', 'if-range': `W/${ETAG}` }, 'send-whole'],
  ['5', 'Range and If-Range with the Last-Modified date', 'GET', { range: 'bytes=0-1', 'if-range': LAST_MODIFIED }, 'send'],
  ['5', 'Range and If-Range with another date', 'GET', { range: 'bytes=0-1', 'if-range': LATER }, 'send-whole'],
  ['5', 'Range and If-Range with an invalid date', 'GET', { range: 'bytes=0-1', 'if-range': 'soon' }, 'send-whole'],
  ['5', 'Range and If-Range on HEAD (HEAD keeps GET\'s headers)', 'HEAD', { range: 'bytes=0-1', 'if-range': OTHER }, 'send-whole'],
  ['5', 'Range without If-Range', 'GET', { range: 'bytes=0-1' }, 'send'],
  ['5', 'If-Range without Range is ignored', 'GET', { 'if-range': OTHER }, 'send'],
  ['5', 'a 304 comes before If-Range', 'GET', { range: 'bytes=0-1', 'if-range': OTHER, 'if-none-match': ETAG }, 'not-modified'],
  // No conditions at all.
  ['-', 'no conditional header', 'GET', {}, 'send'],
  ['-', 'no conditional header, POST', 'POST', {}, 'send'],
];

for (const [step, what, method, headers, want] of DECISIONS) {
  test(`RFC 9110 13.2.2 step ${step}: ${what} → ${want}`, () => {
    assert.equal(evaluatePreconditions(method, headers, V), want);
  });
}

// Each condition's three states: [function, header, want].
const CONDITIONS = [
  [checkIfMatch, undefined, 'none'],
  [checkIfMatch, ETAG, 'true'],
  [checkIfMatch, ` ${OTHER} ,${ETAG} `, 'true'],
  [checkIfMatch, OTHER, 'false'],
  [checkIfUnmodifiedSince, undefined, 'none'],
  [checkIfUnmodifiedSince, 'Sunday', 'none'],
  [checkIfUnmodifiedSince, LAST_MODIFIED, 'true'],
  [checkIfUnmodifiedSince, EARLIER, 'false'],
  [checkIfNoneMatch, undefined, 'none'],
  [checkIfNoneMatch, '', 'none'],
  [checkIfNoneMatch, OTHER, 'true'],
  [checkIfNoneMatch, ETAG, 'false'],
  [checkIfNoneMatch, `W/${ETAG}`, 'false'],
  [checkIfModifiedSince, undefined, 'none'],
  [checkIfModifiedSince, '', 'none'],
  [checkIfModifiedSince, '1994-13-45', 'none'],
  [checkIfModifiedSince, EARLIER, 'true'],
  [checkIfModifiedSince, LAST_MODIFIED, 'false'],
];

for (const [check, header, want] of CONDITIONS) {
  test(`${check.name}(${JSON.stringify(header)}) → ${want}`, () => {
    const validator = check === checkIfMatch || check === checkIfNoneMatch ? ETAG : MTIME_S;
    assert.equal(check(header, validator), want);
  });
}

test('checkIfRange: none without the header; a tag or date compared exactly', () => {
  assert.equal(checkIfRange(undefined, V), 'none');
  assert.equal(checkIfRange(ETAG, V), 'true');
  assert.equal(checkIfRange(LAST_MODIFIED, V), 'true');
  assert.equal(checkIfRange(`W/${ETAG}`, V), 'false');
  assert.equal(checkIfRange(EARLIER, V), 'false');
});

test('a weak validator never passes If-Match (strong comparison), but passes If-None-Match', () => {
  const weak = { ...V, etag: `W/${ETAG}` };
  assert.equal(evaluatePreconditions('GET', { 'if-match': `W/${ETAG}` }, weak), 'precondition-failed');
  assert.equal(evaluatePreconditions('GET', { 'if-none-match': ETAG }, weak), 'not-modified');
  assert.equal(evaluatePreconditions('GET', { 'if-none-match': `W/${ETAG}` }, weak), 'not-modified');
});

// --- Range against sizes: [header, size, want] ---

const R = (...pairs) => ({ kind: 'ranges', ranges: pairs.map(([start, end]) => ({ start, end })) });
const UNSATISFIABLE = { kind: 'unsatisfiable' };
const IGNORED = { kind: 'ignored' };

const RANGES = [
  ['bytes=0-4', 10, R([0, 4])],
  ['bytes=0-0', 10, R([0, 0])],
  ['bytes=5-', 10, R([5, 9])],
  ['bytes=9-', 10, R([9, 9])],
  // Suffix ranges (RFC 9110 14.1.3): the last N bytes; longer than the file means all of it.
  ['bytes=-3', 10, R([7, 9])],
  ['bytes=-10', 10, R([0, 9])],
  ['bytes=-20', 10, R([0, 9])],
  ['bytes=0-1,-20', 10, R([0, 9])],
  // Past the end: the last position is clamped; a first position past it is unsatisfiable.
  ['bytes=5-100', 10, R([5, 9])],
  ['bytes=10-', 10, UNSATISFIABLE],
  ['bytes=10-20', 10, UNSATISFIABLE],
  ['bytes=-0', 10, UNSATISFIABLE],
  ['bytes=5-2', 10, UNSATISFIABLE],
  ['bytes=0-', 0, UNSATISFIABLE],
  ['bytes=-5', 0, UNSATISFIABLE],
  // Several ranges: overlapping and adjacent ones combined, request order kept, unsatisfiable ones dropped.
  ['bytes=0-1,4-5', 10, R([0, 1], [4, 5])],
  ['bytes=0-4,3-6', 10, R([0, 6])],
  ['bytes=0-1,2-3', 10, R([0, 3])],
  ['bytes=8-9,0-1', 10, R([8, 9], [0, 1])],
  ['bytes=0-1,20-30', 10, R([0, 1])],
  ['bytes=20-30,40-', 10, UNSATISFIABLE],
  // Ignored: the whole representation is sent.
  ['bytes=abc', 10, IGNORED],
  ['bytes=1-x', 10, IGNORED],
  ['bytes 0-1', 10, IGNORED],
  ['items=0-1', 10, IGNORED],
  ['', 10, IGNORED],
  [Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 2}-${i * 2}`).join(',').replace(/^/, 'bytes='), 1000, IGNORED],
];

for (const [header, size, want] of RANGES) {
  test(`resolveRanges(${JSON.stringify(header.length > 40 ? header.slice(0, 40) + '…' : header)}, ${size}) → ${want.kind}`, () => {
    const got = resolveRanges(header, size);
    assert.equal(got.kind, want.kind);
    if (want.kind === 'ranges') assert.deepEqual(got.ranges.map(({ start, end }) => ({ start, end })), want.ranges);
  });
}

test(`exactly MAX_RANGES (${MAX_RANGES}) separate ranges are served`, () => {
  const header = 'bytes=' + Array.from({ length: MAX_RANGES }, (_, i) => `${i * 2}-${i * 2}`).join(',');
  const got = resolveRanges(header, 1000);
  assert.equal(got.kind, 'ranges');
  assert.equal(got.ranges.length, MAX_RANGES);
});
