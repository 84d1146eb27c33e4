import GatewayCore
import MultipartKit
import NIOCore

/// Pulls the first file part out of a streamed multipart/form-data body. Other parts (plain form
/// fields) are skipped; their bytes are counted against the request limit but never kept.
/// Event-loop only (one per request).
final class MultipartFileExtractor {
    private let parser: MultipartParser
    /// Keeps bytes that crash MultipartKit, and endless headers, away from it.
    private var headerGuard: MultipartHeaderGuard
    private var partHeaders: [(String, String)] = []
    private var inFilePart = false
    private var chosenPartDecided = false
    /// Bytes of the file part parsed from the current chunk, handed to the caller by `feed`.
    private var fileBytes = ByteBuffer()
    private var headerBytes = 0
    /// Sticky: set the moment one part's headers pass the limit, whether or not that part also
    /// ends inside the same chunk (its count is reset at the part's end).
    private var headerLimitExceeded = false
    private(set) var fileName: String?
    private(set) var fileMIME: String?
    private(set) var foundFile = false
    private(set) var fileComplete = false

    /// Headers of one part are tiny; anything bigger is an attack on the parser's buffers.
    static let maximumPartHeaderBytes = 16 * 1024
    static let headersTooLarge = GatewayError.attachmentBadMultipart(
        "A multipart part's headers exceed \(maximumPartHeaderBytes) bytes.")

    /// `boundary=` of a multipart/form-data Content-Type, or nil when it is absent or malformed.
    static func boundary(fromContentType contentType: String) -> String? {
        let parameters = contentType.split(separator: ";").dropFirst()
        for parameter in parameters {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, String(pair[0]).trimmingSpaces().lowercased() == "boundary" else { continue }
            var value = String(pair[1]).trimmingSpaces()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            // RFC 2046: 1 to 70 characters.
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    init(boundary: String) {
        parser = MultipartParser(boundary: boundary)
        headerGuard = MultipartHeaderGuard(boundary: boundary, headerBlockLimit: Self.maximumPartHeaderBytes)
        parser.onHeader = { [unowned self] name, value in
            // ": " and CRLF count too, so a flood of empty headers is still bytes.
            headerBytes += name.utf8.count + value.utf8.count + 4
            if headerBytes > Self.maximumPartHeaderBytes {
                headerLimitExceeded = true
                return
            }
            partHeaders.append((name, value))
        }
        parser.onBody = { [unowned self] body in
            if !chosenPartDecided { decidePart() }
            if inFilePart { fileBytes.writeBuffer(&body) }
        }
        parser.onPartComplete = { [unowned self] in
            if !chosenPartDecided { decidePart() }
            if inFilePart { fileComplete = true }
            inFilePart = false
            chosenPartDecided = false
            partHeaders = []
            headerBytes = 0
        }
    }

    /// Parses one chunk; returns the file bytes it contained (possibly none).
    func feed(_ chunk: ByteBuffer) throws(GatewayError) -> ByteBuffer {
        fileBytes = ByteBuffer()
        switch headerGuard.problem(in: chunk) {
        case .nonASCIIName?: throw .attachmentBadMultipart("A multipart part's header name is not ASCII.")
        case .headerBlockTooLarge?: throw Self.headersTooLarge
        case nil: break
        }
        do {
            try parser.execute(chunk)
        } catch {
            throw .attachmentBadMultipart("The multipart/form-data body is malformed.")
        }
        if headerLimitExceeded { throw Self.headersTooLarge }
        let result = fileBytes
        fileBytes = ByteBuffer()
        return result
    }

    /// Called at the first body byte (or end) of a part: is this the file we keep?
    private func decidePart() {
        chosenPartDecided = true
        guard !foundFile else { return }
        let disposition = partHeaders.first { $0.0.lowercased() == "content-disposition" }?.1 ?? ""
        let parameters = Self.dispositionParameters(disposition)
        guard parameters["filename"] != nil || parameters["name"] == "file" else { return }
        foundFile = true
        inFilePart = true
        fileName = parameters["filename"]
        fileMIME = partHeaders.first { $0.0.lowercased() == "content-type" }?.1
    }

    /// `form-data; name="file"; filename="a b.png"` → ["name": "file", "filename": "a b.png"].
    static func dispositionParameters(_ header: String) -> [String: String] {
        var result: [String: String] = [:]
        var index = header.startIndex
        // Skip the disposition type.
        guard let firstSemicolon = header.firstIndex(of: ";") else { return result }
        index = header.index(after: firstSemicolon)
        while index < header.endIndex {
            while index < header.endIndex, header[index] == " " || header[index] == ";" { index = header.index(after: index) }
            guard let equals = header[index...].firstIndex(of: "=") else { break }
            let key = String(header[index..<equals]).trimmingSpaces().lowercased()
            index = header.index(after: equals)
            var value = ""
            if index < header.endIndex, header[index] == "\"" {
                index = header.index(after: index)
                while index < header.endIndex, header[index] != "\"" {
                    if header[index] == "\\", header.index(after: index) < header.endIndex { index = header.index(after: index) }
                    value.append(header[index])
                    index = header.index(after: index)
                }
                if index < header.endIndex { index = header.index(after: index) }
            } else {
                let end = header[index...].firstIndex(of: ";") ?? header.endIndex
                value = String(header[index..<end]).trimmingSpaces()
                index = end
            }
            if result[key] == nil { result[key] = value }
        }
        return result
    }
}
