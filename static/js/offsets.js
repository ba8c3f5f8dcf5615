// Code-point offset arithmetic for the annotation page (DESIGN.md, "Offsets: one unit,
// everywhere"). The server counts Unicode code points of the NFC text, as Python's str does;
// JavaScript strings and DOM offsets count UTF-16 code units, which differ as soon as a text holds
// a character outside the Basic Multilingual Plane (emoji, some CJK, ...). Every conversion lives
// here, as pure functions on strings and numbers, so that tests/e2e/test_offsets_js.py can prove
// them against Python's own indexes without a page around them; annotate.js only calls them.
//
// A plain script (no modules, no build step: the CSP allows only same-origin script files) that
// defines one global, window.Offsets.
"use strict";

(function () {
  // The number of UTF-16 code units of the code point that starts at `index` of `text`: 2 for a
  // whole surrogate pair, 1 otherwise (a lone surrogate counts as one code point, as
  // Array.from and for...of count it).
  function unitsAt(text, index) {
    return text.codePointAt(index) > 0xffff ? 2 : 1;
  }

  // The number of code points in `text`.
  function length(text) {
    var count = 0;
    for (var i = 0; i < text.length; i += unitsAt(text, i)) {
      count++;
    }
    return count;
  }

  // A UTF-16 index into `text` (a DOM offset) as a code-point index: the number of code points
  // in text.slice(0, units). An index that falls between the two halves of a surrogate pair
  // counts the whole character, as the slice would count its lone first half.
  function fromUtf16(text, units) {
    var end = Math.min(Math.max(units, 0), text.length);
    var count = 0;
    for (var i = 0; i < end; i += unitsAt(text, i)) {
      count++;
    }
    return count;
  }

  // A code-point index into `text` as a UTF-16 index, clamped to the text: negative gives 0,
  // past the end gives text.length.
  function toUtf16(text, points) {
    var units = 0;
    for (var n = 0; n < points && units < text.length; n++) {
      units += unitsAt(text, units);
    }
    return units;
  }

  // The code points of `text`, one string each (a surrogate pair stays whole).
  function split(text) {
    return Array.from(text);
  }

  // Index into `starts` (the ascending code-point starts of consecutive text segments) of the
  // segment that holds `offset`. A start offset belongs to the segment that begins there; an end
  // offset (isEnd) to the segment it closes, so that a span ending at a boundary stays in its
  // own segment. Offsets before the first segment give 0.
  function segmentAt(starts, offset, isEnd) {
    var lo = 0;
    var hi = starts.length - 1;
    var found = 0;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] < offset || (!isEnd && starts[mid] === offset)) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  // Scripts written without spaces between words: a selection there is taken as it is.
  var NO_SPACES =
    /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
  var WORD = /[\p{L}\p{N}\p{M}\p{Pc}'’-]/u;
  var SPACE = /\s/u;

  // Whether the code point `ch` (undefined past either end) belongs to a space-separated word.
  function isWord(ch) {
    return ch !== undefined && WORD.test(ch) && !NO_SPACES.test(ch);
  }

  // The span [start, end) of `chars` (one code point per entry) grown to whole words where it
  // cuts one, then with surrounding white space trimmed; returned as [start, end], which may be
  // empty (end <= start) for a selection of white space only.
  function snap(chars, start, end) {
    if (isWord(chars[start]) && isWord(chars[start - 1])) {
      while (start > 0 && isWord(chars[start - 1])) {
        start--;
      }
    }
    if (isWord(chars[end - 1]) && isWord(chars[end])) {
      while (end < chars.length && isWord(chars[end])) {
        end++;
      }
    }
    while (start < end && SPACE.test(chars[start])) {
      start++;
    }
    while (end > start && SPACE.test(chars[end - 1])) {
      end--;
    }
    return [start, end];
  }

  window.Offsets = Object.freeze({
    length: length,
    fromUtf16: fromUtf16,
    toUtf16: toUtf16,
    split: split,
    segmentAt: segmentAt,
    isWord: isWord,
    snap: snap,
  });
})();
