import NIOCore
import NIOHTTP1

extension HTTPResponse {
    /// The whole answer as HTTP/1.x bytes in one buffer, for HTTPRequestHandler to write below
    /// the codec: one write through the pipeline instead of head, body and end through the
    /// protocol-error handler, the header validator and NIO's encoder (a fifth of the
    /// instructions of a personal message went there). nil when the codec must frame it: a file
    /// body, a status without a body (1xx, 204, 304: NIO drops their Content-Length), or a header
    /// the validator would refuse (CR, LF or NUL in it: left to the codec to fail loudly).
    ///
    /// `includeBody` false for HEAD: the head keeps the Content-Length a GET would get.
    ///
    /// Two passes: the first checks every header and adds up the answer's size, the second copies
    /// the pieces into the buffer's memory at once. Each ByteBuffer write costs ~300 instructions
    /// of bookkeeping (bounds, uniqueness, exclusivity), and an answer is ~20 pieces: writing them
    /// one by one was 6,300 instructions of a personal message's 15,600 for its answer (issue 14,
    /// bench/RESULTS.md).
    func wireBytes(version: HTTPVersion, closing: Bool, includeBody: Bool, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard file == nil, status.mayHaveResponseBody else { return nil }
        let versionText: String? = version.major == 1 && version.minor == 1 ? nil : "HTTP/\(version.major).\(version.minor) "
        let code = status.code
        let codeText: String? = (100...999).contains(code) ? nil : String(code)
        let reason = status.reasonPhrase
        var size = (versionText?.utf8.count ?? 9) + (codeText?.utf8.count ?? 3) + 1 + reason.utf8.count + 2
        for (name, value) in headers {
            guard Self.isSafeHeaderText(name), Self.isSafeHeaderText(value) else { return nil }
            if closing && Self.isConnectionHeader(name) { continue }
            size += name.utf8.count + 2 + value.utf8.count + 2
        }
        if closing { size += Self.connectionClose.utf8CodeUnitCount }
        size += 2
        if includeBody { size += body.count }

        var buffer = allocator.buffer(capacity: size)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { memory in
            var out = WireWriter(memory: memory)
            if let versionText { out.put(versionText) } else { out.put("HTTP/1.1 ") }
            if let codeText {
                out.put(codeText)
            } else {
                out.put(UInt8(48 + code / 100))
                out.put(UInt8(48 + code / 10 % 10))
                out.put(UInt8(48 + code % 10))
            }
            out.put(" ")
            out.put(reason)
            out.put("\r\n")
            for (name, value) in headers {
                if closing && Self.isConnectionHeader(name) { continue }
                out.put(name)
                out.put(": ")
                out.put(value)
                out.put("\r\n")
            }
            if closing { out.put(Self.connectionClose) }
            out.put("\r\n")
            if includeBody { body.withUnsafeBytes { out.put($0) } }
            precondition(out.written == size, "the answer's size was measured wrong")
            return out.written
        }
        return buffer
    }

    private static let connectionClose: StaticString = "Connection: close\r\n"

    /// No CR, LF or NUL: a header line cannot be split or cut short by it.
    private static func isSafeHeaderText(_ text: String) -> Bool {
        func safe(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool { !bytes.contains { $0 == 13 || $0 == 10 || $0 == 0 } }
        // Native strings are contiguous UTF-8: a loop over the bytes, not String.UTF8View's iterator.
        if let answer = text.utf8.withContiguousStorageIfAvailable(safe) { return answer }
        var copy = text
        return copy.withUTF8(safe)
    }

    private static func isConnectionHeader(_ name: String) -> Bool {
        name.utf8.count == 10 && name.lowercased() == "connection"
    }
}

/// Copies the pieces of an answer into memory measured for them (HTTPResponse.wireBytes).
private struct WireWriter {
    let memory: UnsafeMutableRawBufferPointer
    private(set) var written = 0

    init(memory: UnsafeMutableRawBufferPointer) {
        self.memory = memory
    }

    mutating func put(_ bytes: UnsafeRawBufferPointer) {
        precondition(written + bytes.count <= memory.count, "the answer's size was measured wrong")
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        (memory.baseAddress! + written).copyMemory(from: source, byteCount: bytes.count)
        written += bytes.count
    }

    mutating func put(_ text: StaticString) {
        put(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func put(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ put(UnsafeRawBufferPointer($0)) }) != nil { return }
        var copy = text
        copy.withUTF8 { put(UnsafeRawBufferPointer($0)) }
    }

    mutating func put(_ byte: UInt8) {
        precondition(written < memory.count, "the answer's size was measured wrong")
        memory[written] = byte
        written += 1
    }
}
