// libFuzzer target: attachment uploads as multipart/form-data (scripts/fuzz.sh FuzzMultipart).
//
// Input: one byte that sets the chunk size (how the body arrives off the socket), the request's
// Content-Type value up to the first "\n", then the body. Drives what POST /api/v1/attachments
// does: MultipartFileExtractor.boundary(fromContentType:), then MultipartFileExtractor (the
// MultipartKit wrapper) fed chunk by chunk, as AttachmentUpload feeds it.
// The promises checked: a refusal with a stable code or a file — never a crash; no file byte
// that was not in the body; and the verdict does not depend on how the body was cut into chunks
// (the same body in one piece gives the same file, name and type, and errors where the chunked
// one does).
@testable import GatewayCore
@testable import GatewayServer
import NIOCore

struct Outcome: Equatable {
    var refusal: String?
    var file: [UInt8] = []
    var foundFile = false
    var fileComplete = false
    var fileName: String?
    var fileMIME: String?
}

func upload(_ body: ArraySlice<UInt8>, boundary: String, chunkSize: Int) -> Outcome {
    let extractor = MultipartFileExtractor(boundary: boundary)
    var outcome = Outcome()
    var offset = body.startIndex
    while offset < body.endIndex {
        let end = min(offset + chunkSize, body.endIndex)
        do {
            var bytes = try extractor.feed(ByteBuffer(bytes: body[offset..<end]))
            outcome.file += bytes.readBytes(length: bytes.readableBytes) ?? []
        } catch {
            precondition(error.code == "attachment.bad_multipart", "unexpected refusal \(error.code)")
            outcome.refusal = error.message
            return outcome  // AttachmentUpload stops at the first refusal
        }
        offset = end
    }
    outcome.foundFile = extractor.foundFile
    outcome.fileComplete = extractor.fileComplete
    outcome.fileName = extractor.fileName
    outcome.fileMIME = extractor.fileMIME
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    let chunkSize = Int(input[0]) + 1
    let newline = input[1...].firstIndex(of: UInt8(ascii: "\n")) ?? input.endIndex
    let contentType = String(decoding: input[1..<newline], as: UTF8.self)
    guard let boundary = MultipartFileExtractor.boundary(fromContentType: contentType) else { return 0 }  // 400 in production
    precondition((1...70).contains(boundary.utf8.count), "boundary of \(boundary.utf8.count) bytes accepted")
    let body = newline < input.endIndex ? Array(input[(newline + 1)...])[...] : []

    let chunked = upload(body, boundary: boundary, chunkSize: chunkSize)
    precondition(chunked.file.count <= body.count, "more file bytes than body bytes")
    precondition(!chunked.fileComplete || chunked.foundFile, "a complete file that was never found")
    let whole = upload(body, boundary: boundary, chunkSize: max(body.count, 1))
    precondition((chunked.refusal == nil) == (whole.refusal == nil),
                 "refused in \(chunkSize)-byte chunks: \(chunked.refusal ?? "no"), in one piece: \(whole.refusal ?? "no")")
    if chunked.refusal == nil {
        precondition(chunked == whole, "the file differs with \(chunkSize)-byte chunks: \(chunked) vs \(whole)")
    }
    return 0
}
