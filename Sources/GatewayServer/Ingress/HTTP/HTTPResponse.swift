import GatewayCore
import GatewayJSON
import NIOHTTP1

/// A complete response: the HTTP API answers small JSON documents (or metrics text).
struct HTTPResponse {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: [UInt8]
    /// A byte range of a file sent with sendfile instead of `body` (attachments, Range requests).
    /// The route sets Content-Length to `length`.
    var file: FileBody?

    struct FileBody {
        let path: String
        let offset: Int64
        let length: Int64
    }

    static func file(_ status: HTTPResponseStatus, _ file: FileBody, headers: HTTPHeaders) -> HTTPResponse {
        var response = HTTPResponse(status: status, contentType: headers.first(name: "Content-Type") ?? "application/octet-stream",
                                    body: [], headers: headers)
        response.headers.replaceOrAdd(name: "Content-Length", value: String(file.length))
        response.file = file
        return response
    }

    init(status: HTTPResponseStatus, contentType: String, body: [UInt8], headers extra: HTTPHeaders = [:]) {
        self.status = status
        if extra.isEmpty {
            // Most answers (every accepted publish): nothing to replace, so no case-insensitive
            // search of the headers and one array of the right size (~2,400 instructions less).
            headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", String(body.count))])
        } else {
            var headers = extra
            headers.replaceOrAdd(name: "Content-Type", value: contentType)
            headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
            self.headers = headers
        }
        self.body = body
    }

    static func json(_ status: HTTPResponseStatus, _ value: JSON, headers: HTTPHeaders = [:]) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: value.encoded(), headers: headers)
    }

    /// 202 {"id": N}: the answer to every accepted publish, written without building a JSON
    /// document (it is on the path of every event).
    static func accepted(id: Int64) -> HTTPResponse {
        HTTPResponse(status: .accepted, contentType: "application/json", body: Array("{\"id\":\(id)}".utf8))
    }

    /// {"error": {"code": "...", "message": "..."}} with the error's own status. A 503 (the
    /// engine's store is unreachable) is temporary: it says when to try again.
    static func error(_ error: GatewayError, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        if error.status == 503 && !headers.contains(name: "Retry-After") { headers.add(name: "Retry-After", value: "1") }
        let body = JSON.object()
        body.set("code", error.code)
        body.set("message", error.message)
        let document = JSON.object()
        document.set("error", body)
        return json(HTTPResponseStatus(statusCode: error.status), document, headers: headers)
    }
}

extension HTTPResponse {
    /// The HTTP/1.1 bytes of a small in-memory response, for the rare answer written below the
    /// codec (see ConnectionDeadlines.answerAndClose).
    func serialized(closing: Bool) -> [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        for (name, value) in headers where name.lowercased() != "connection" { text += "\(name): \(value)\r\n" }
        if closing { text += "Connection: close\r\n" }
        return Array((text + "\r\n").utf8) + body
    }
}

extension GatewayError {
    static func notFound(_ path: String) -> GatewayError {
        GatewayError(code: "http.not_found", message: "No such endpoint: \(path). See the README's HTTP API section.", status: 404)
    }

    static func methodNotAllowed(_ method: HTTPMethod, _ path: String) -> GatewayError {
        GatewayError(code: "http.method_not_allowed", message: "\(method) is not allowed on \(path).", status: 405)
    }

    static func tooLarge(_ limit: Int) -> GatewayError {
        GatewayError(code: "http.body_too_large", message: "The request body is larger than the limit of \(limit) bytes.", status: 413)
    }

    static func unauthorized(_ code: String, _ message: String) -> GatewayError {
        GatewayError(code: code, message: message, status: 401)
    }
}
