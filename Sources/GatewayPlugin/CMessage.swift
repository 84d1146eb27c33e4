// Writing text into the caller's gw_message. gw_message_set() is a C variadic inline function,
// which Swift cannot call, so the SDK copies the bytes itself with the same guarantees:
// truncated to the capacity, never splitting a UTF-8 sequence, always NUL-terminated.
import CGatewayPlugin

enum CMessage {
    /// ABI 1.2 coded message: the code and status go into their own fields on a 1.2+ host; an
    /// older host's gw_message has no such fields, so there they lead the text instead.
    static func write(_ text: String, code: String, status: Int, host: PluginHost,
                      to message: UnsafeMutablePointer<gw_message>?) {
        guard let message else { return }
        let version = host.abiVersion
        guard version.major == 1, version.minor >= 2 else {
            write("\(code): \(text)", to: message)
            return
        }
        write(text, to: message)
        withUnsafeMutableBytes(of: &message.pointee.code) { buffer in
            let bytes = Array(code.utf8.prefix(buffer.count - 1))
            for index in bytes.indices { buffer[index] = bytes[index] }
            buffer[bytes.count] = 0
        }
        message.pointee.http_status = Int32(clamping: status)
    }

    static func write(_ text: String, to message: UnsafeMutablePointer<gw_message>?) {
        guard let message else { return }
        withUnsafeMutableBytes(of: &message.pointee.text) { buffer in
            let bytes = Array(text.utf8)
            var length = min(bytes.count, buffer.count - 1)
            // Back up to the start of a UTF-8 sequence so the text stays valid after truncation.
            if length < bytes.count {
                while length > 0 && (bytes[length] & 0xC0) == 0x80 { length -= 1 }
            }
            for index in 0..<length { buffer[index] = bytes[index] }
            buffer[length] = 0
        }
    }
}
