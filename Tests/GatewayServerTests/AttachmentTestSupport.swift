import Foundation
import GatewayCore
import GatewayJSON

#if canImport(Glibc)
import Glibc
#endif

/// A gateway with the bundled attachment plugins (validator, then thumbnailer) in its chain.
enum AttachmentGateway {
    static func start(maxBytes: Int = 1024 * 1024) throws -> TestGateway {
        try TestGateway { config in
            config.plugins = [
                GatewayConfig.Plugin(name: "attachment-validator", library: "libAttachmentValidator.so"),
                GatewayConfig.Plugin(name: "thumbnailer", library: "libThumbnailer.so"),
            ]
            config.attachments.maxBytes = maxBytes
        }
    }
}

extension TestGateway {
    var attachmentsDirectory: String { directory + "/attachments" }

    /// A raw-body upload.
    func upload(_ bytes: [UInt8], mime: String, name: String?, token: String?, extraHeaders: [(String, String)] = [])
        throws -> RawHTTPResponse
    {
        var headers = [("Content-Type", mime)] + extraHeaders
        if let name { headers.append(("X-File-Name", name)) }
        return try http("POST", "/api/v1/attachments", token: token, headers: headers, body: bytes)
    }

    /// A multipart/form-data upload with a text field before the file part.
    func uploadMultipart(_ bytes: [UInt8], mime: String, fileName: String, token: String) throws -> RawHTTPResponse {
        let boundary = "----gateway-test-\(UUID().uuidString)"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nholiday photo\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(fileName)\"\r\nContent-Type: \(mime)\r\n\r\n".utf8)
        body += bytes
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return try http("POST", "/api/v1/attachments", token: token,
                        headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")], body: body)
    }

    /// Every regular file under the attachments folder (content files, thumbnails, temp files).
    func storedFiles() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: attachmentsDirectory) else { return [] }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: attachmentsDirectory + "/" + relative, isDirectory: &isDirectory),
               !isDirectory.boolValue {
                files.append(relative)
            }
        }
        return files.sorted()
    }
}

/// A plain TCP connection for requests RawHTTP cannot make (a body cut off midway).
final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            _ = Glibc.close(fd)
            throw TestFailure("connect to 127.0.0.1:\(port) failed")
        }
    }

    func send(_ bytes: [UInt8]) throws { try RawHTTP.sendAll(fd, bytes) }

    func close() { _ = Glibc.close(fd) }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

extension RawHTTPResponse {
    /// The error code, reading the body while its parsed JSON is still alive (a JSONView only
    /// borrows; it must not outlive the JSON it came from).
    var attachmentErrorCode: String? {
        guard let document = try? json() else { return nil }
        return withExtendedLifetime(document) { document.view["error"]["code"].string }
    }

    /// A top-level string field of a JSON body (an upload's "id", "sha256").
    func attachmentField(_ key: String) -> String? {
        guard let document = try? json() else { return nil }
        return withExtendedLifetime(document) { document.view[key].string }
    }

    var attachmentErrorMessage: String? {
        guard let document = try? json() else { return nil }
        return withExtendedLifetime(document) { document.view["error"]["message"].string }
    }
}
