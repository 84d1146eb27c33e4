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
    func wireBytes(version: HTTPVersion, closing: Bool, includeBody: Bool, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard file == nil, status.mayHaveResponseBody else { return nil }
        var buffer = allocator.buffer(capacity: 96 + headers.count * 40 + (includeBody ? body.count : 0))
        if version.major == 1 && version.minor == 1 {
            buffer.writeStaticString("HTTP/1.1 ")
        } else {
            buffer.writeString("HTTP/\(version.major).\(version.minor) ")
        }
        let code = status.code
        if (100...999).contains(code) {
            buffer.writeInteger(UInt8(48 + code / 100))
            buffer.writeInteger(UInt8(48 + code / 10 % 10))
            buffer.writeInteger(UInt8(48 + code % 10))
        } else {
            buffer.writeString(String(code))
        }
        buffer.writeStaticString(" ")
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        for (name, value) in headers {
            guard Self.isSafeHeaderText(name), Self.isSafeHeaderText(value) else { return nil }
            if closing && Self.isConnectionHeader(name) { continue }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        if closing { buffer.writeStaticString("Connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        if includeBody { buffer.writeBytes(body) }
        return buffer
    }

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
