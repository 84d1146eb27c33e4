/// One `Range: bytes=...` request resolved against a file size (RFC 9110 §14.1.2).
/// Only a single range is served; a multi-range request gets the whole file, which the RFC allows.
enum ByteRange: Equatable {
    /// No usable Range header: send the whole file with 200.
    case whole
    /// Send `offset ..< offset + length` with 206.
    case partial(offset: Int64, length: Int64)
    /// Syntactically fine but outside the file: 416.
    case unsatisfiable

    static func resolve(_ header: String?, size: Int64) -> ByteRange {
        guard let header else { return .whole }
        let trimmed = header.trimmingSpaces()
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = String(trimmed.dropFirst("bytes=".count)).trimmingSpaces()
        // Several ranges: answering with the whole file is simpler and allowed.
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = String(spec[..<dash]).trimmingSpaces()
        let last = String(spec[spec.index(after: dash)...]).trimmingSpaces()
        if first.isEmpty {
            // bytes=-N: the last N bytes.
            guard let suffix = Int64(last), suffix >= 0 else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            let length = min(suffix, size)
            return .partial(offset: size - length, length: length)
        }
        guard let start = Int64(first), start >= 0 else { return .whole }
        guard start < size else { return .unsatisfiable }
        var end = size - 1
        if !last.isEmpty {
            guard let requestedEnd = Int64(last), requestedEnd >= start else { return .whole }
            end = min(requestedEnd, size - 1)
        }
        return .partial(offset: start, length: end - start + 1)
    }
}
