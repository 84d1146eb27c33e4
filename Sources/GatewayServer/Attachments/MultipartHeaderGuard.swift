#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// MultipartKit 4.7.1 traps — the whole gateway process dies — on a part-header name byte of
/// 0x80 or more: its table of allowed name bytes has 128 entries and is indexed unchecked
/// (`MultipartParser.swift`, `isAllowedHeaderFieldNameCharacter`). Found by the FuzzMultipart
/// fuzz target; the input is kept in Fuzz/Regressions/FuzzMultipart. There is no fixed release
/// to move to, so each chunk is checked here before MultipartKit sees it.
///
/// Header names are ASCII tokens (RFC 7578, RFC 2045), so any such byte is a malformed body. The
/// scan is a superset of where MultipartKit reads header names: a header block starts after any
/// line "--<boundary>" (MultipartKit needs CRLF before it, except in the preamble) and ends at
/// its empty line; a name runs from a line's start to its ':' or CR. Inside a header block a line
/// ends where MultipartKit ends it: at CR LF. A bare LF is part of a header value there (a second
/// fuzz finding: `Content-Type: image/="a \n` then CR LF and a PNG body — a scan that took the
/// bare LF for a line end saw the CR LF as the block's empty line, while MultipartKit read the
/// PNG's 0x89 as a header name byte and trapped). Header values (UTF-8 file names) and part
/// bodies are not touched. State carries over between chunks.
///
/// It also bounds a header block's raw size (`limit` bytes): MultipartKit keeps an unfinished
/// header in memory and copies it whole on every chunk, so an endless header costs memory and
/// CPU quadratically until its line ends — and the per-header count (MultipartFileExtractor's
/// onHeader) only sees it then.
struct MultipartHeaderGuard {
    enum Problem: Equatable {
        case nonASCIIName
        case headerBlockTooLarge
    }

    /// "--<boundary>\r\n": the line that opens a part's headers.
    private let opening: [UInt8]
    /// The last `opening.count - 1` bytes before the current chunk, to find an opening line cut
    /// by a chunk boundary.
    private var carried: [UInt8] = []
    private var inHeaders = false
    private var atLineStart = false
    private var inName = false
    /// The last header-block byte was a CR: a LF now ends the line.
    private var afterCR = false
    private var headerBlockBytes = 0
    private let limit: Int

    init(boundary: String, headerBlockLimit: Int) {
        opening = Array("--\(boundary)\r\n".utf8)
        limit = headerBlockLimit
    }

    /// What in `chunk` MultipartKit must not see, or nil.
    mutating func problem(in chunk: ByteBuffer) -> Problem? {
        chunk.withUnsafeReadableBytes { bytes in problem(in: bytes) }
    }

    private mutating func problem(in bytes: UnsafeRawBufferPointer) -> Problem? {
        var index = 0
        while index < bytes.count {
            if inHeaders {
                let byte = bytes[index]
                headerBlockBytes += 1
                if headerBlockBytes > limit { return .headerBlockTooLarge }
                if atLineStart {
                    atLineStart = false
                    if byte == UInt8(ascii: "\r") {
                        inHeaders = false  // the empty line: the body follows
                        index += 1
                        continue
                    }
                    inName = true
                }
                if inName {
                    if byte == UInt8(ascii: ":") || byte == UInt8(ascii: "\r") {
                        inName = false
                    } else if byte >= 0x80 {
                        return .nonASCIIName
                    }
                }
                if byte == UInt8(ascii: "\n") && afterCR { atLineStart = true }
                afterCR = byte == UInt8(ascii: "\r")
                index += 1
                continue
            }
            // Outside headers only line ends matter: jump to the next one.
            let rest = bytes.count - index
            guard let found = memchr(bytes.baseAddress! + index, Int32(UInt8(ascii: "\n")), rest) else { break }
            index = bytes.baseAddress!.distance(to: UnsafeRawPointer(found))
            if endsOpening(bytes, at: index) {
                inHeaders = true
                atLineStart = true
                inName = false
                afterCR = false
                headerBlockBytes = 0
            }
            index += 1
        }
        carry(bytes)
        return nil
    }

    /// Whether the line ending at `bytes[end]` (a LF) is the opening line, looking back into the
    /// bytes carried from earlier chunks when needed.
    private func endsOpening(_ bytes: UnsafeRawBufferPointer, at end: Int) -> Bool {
        let count = opening.count
        for offset in 0..<count {
            let position = end - offset  // compares from the LF backwards
            let byte: UInt8
            if position >= 0 {
                byte = bytes[position]
            } else {
                let carriedIndex = carried.count + position
                guard carriedIndex >= 0 else { return false }
                byte = carried[carriedIndex]
            }
            if byte != opening[count - 1 - offset] { return false }
        }
        return true
    }

    private mutating func carry(_ bytes: UnsafeRawBufferPointer) {
        let keep = opening.count - 1
        if bytes.count >= keep {
            carried = Array(bytes[(bytes.count - keep)...])
        } else {
            carried = Array((carried + Array(bytes)).suffix(keep))
        }
    }
}
