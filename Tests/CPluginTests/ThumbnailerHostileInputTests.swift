// The thumbnailer on hostile input: every case must end in GW_REJECT (or GW_SKIP for a type it
// does not handle) with a coded message, quickly, without allocating the declared pixels.
import CGatewayPlugin
import Foundation
import Testing

@Suite("Thumbnailer plugin: hostile and corrupt images")
struct ThumbnailerHostileInputTests {
    let plugin: LoadedCPlugin
    let gd: GDLibrary
    let png: [UInt8]
    let jpeg: [UInt8]
    let gif: [UInt8]

    /// Refusals read headers only; anything near this bound would mean a decode was attempted.
    static let refusalSecondsBound = 10.0  // "bounded", not "fast": a hang or a full decode of a bomb exceeds it; a busy CI machine does not

    init() throws {
        plugin = try LoadedCPlugin.load(product: "Thumbnailer")
        gd = try GDLibrary.require()
        png = gd.twoHalves(width: 300, height: 200, format: .png)
        jpeg = gd.twoHalves(width: 300, height: 200, format: .jpeg)
        gif = gd.twoHalves(width: 300, height: 200, format: .gif)
    }

    private func expectRejected(_ bytes: [UInt8], mime: String, code: String, config: String = "{}",
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let instance = try plugin.instance(config: config)
        defer { instance.destroy() }
        let outcome = instance.thumbnail(bytes, mime: mime)
        #expect(outcome.result == Code.reject, "result \(outcome.result): \(outcome.message)", sourceLocation: sourceLocation)
        #expect(outcome.message.hasPrefix(code + ": "), "message: \(outcome.message)", sourceLocation: sourceLocation)
        #expect(!outcome.handedBackBytes, "a refusal must not hand bytes to the host", sourceLocation: sourceLocation)
        #expect(outcome.seconds < Self.refusalSecondsBound, "took \(outcome.seconds) s", sourceLocation: sourceLocation)
    }

    @Test func truncatedFilesAreRefused() throws {
        try expectRejected(Array(png.prefix(png.count / 2)), mime: "image/png", code: "image.truncated")
        try expectRejected(Array(jpeg.prefix(jpeg.count / 2)), mime: "image/jpeg", code: "image.truncated")
        try expectRejected(Array(gif.prefix(gif.count / 2)), mime: "image/gif", code: "image.truncated")
        try expectRejected(Array(png.prefix(20)), mime: "image/png", code: "image.truncated")
        try expectRejected(Array(jpeg.prefix(3)), mime: "image/jpeg", code: "image.truncated")
        try expectRejected(Array(gif.prefix(7)), mime: "image/gif", code: "image.truncated")
    }

    @Test func pngDecompressionBombIsRefusedBeforeDecoding() throws {
        let bomb = HostileImages.pngClaiming(width: 100_000, height: 100_000)
        #expect(bomb.count < 100)
        try expectRejected(bomb, mime: "image/png", code: "image.too_large_dimension")
        // Within max_dimension on each side, but 150 million pixels in total.
        try expectRejected(HostileImages.pngClaiming(width: 15_000, height: 10_000), mime: "image/png",
                           code: "image.too_many_pixels")
    }

    @Test func jpegAndGifBombsAreRefusedBeforeDecoding() throws {
        let jpegBomb = try #require(HostileImages.jpeg(jpeg, claimingWidth: 60_000, height: 60_000))
        try expectRejected(jpegBomb, mime: "image/jpeg", code: "image.too_large_dimension")
        let jpegMany = try #require(HostileImages.jpeg(jpeg, claimingWidth: 9_000, height: 9_000))
        try expectRejected(jpegMany, mime: "image/jpeg", code: "image.too_many_pixels")
        let gifBomb = try #require(HostileImages.gif(gif, claimingWidth: 65_535, height: 65_535, screenToo: true))
        try expectRejected(gifBomb, mime: "image/gif", code: "image.too_large_dimension")
        let frameOutside = try #require(HostileImages.gif(gif, claimingWidth: 4_000, height: 4_000, screenToo: false))
        try expectRejected(frameOutside, mime: "image/gif", code: "image.corrupt")
    }

    @Test func zeroDimensionsAreRefused() throws {
        try expectRejected(HostileImages.pngClaiming(width: 0, height: 10), mime: "image/png", code: "image.zero_dimension")
        let jpegZero = try #require(HostileImages.jpeg(jpeg, claimingWidth: 300, height: 0))
        try expectRejected(jpegZero, mime: "image/jpeg", code: "image.zero_dimension")
        let gifZero = try #require(HostileImages.gif(gif, claimingWidth: 0, height: 0, screenToo: true))
        try expectRejected(gifZero, mime: "image/gif", code: "image.zero_dimension")
    }

    @Test func emptyRandomAndMislabelledBytesAreRefused() throws {
        try expectRejected([], mime: "image/png", code: "image.empty")
        var generator = SeededGenerator(state: 42)
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try expectRejected(noise, mime: "image/jpeg", code: "image.unknown_format")
        try expectRejected(png, mime: "image/jpeg", code: "image.mime_mismatch")
        try expectRejected(jpeg, mime: "image/gif", code: "image.mime_mismatch")
    }

    @Test func typesTheThumbnailerDoesNotHandleAreSkipped() throws {
        let instance = try plugin.instance()
        defer { instance.destroy() }
        for mime in ["text/plain", "application/octet-stream", "image/webp", ""] {
            let outcome = instance.thumbnail(png, mime: mime)
            #expect(outcome.result == Code.skip, "\(mime): \(outcome.message)")
            #expect(!outcome.handedBackBytes)
        }
    }

    @Test func configuredLimitsApply() throws {
        try expectRejected(png, mime: "image/png", code: "image.too_large_bytes", config: #"{"max_bytes": 100}"#)
        try expectRejected(png, mime: "image/png", code: "image.too_many_pixels", config: #"{"max_pixels": 10000}"#)
        try expectRejected(png, mime: "image/png", code: "image.too_large_dimension", config: #"{"max_dimension": 256}"#)
        let progressive = gd.twoHalves(width: 300, height: 200, format: .progressiveJPEG)
        try expectRejected(progressive, mime: "image/jpeg", code: "image.too_many_scans", config: #"{"max_jpeg_scans": 2}"#)
    }

    /// libjpeg reports a broken Huffman table with a fatal error, which libgd turns into a
    /// longjmp and a NULL image: the process must survive and the client gets a refusal.
    @Test func fatalDecoderErrorsDoNotAbortTheProcess() throws {
        let broken = try #require(HostileImages.jpegWithBrokenHuffmanTable(jpeg))
        try expectRejected(broken, mime: "image/jpeg", code: "image.decode_failed")
        let instance = try plugin.instance()
        defer { instance.destroy() }
        let validation = try instance.validate(broken, metadata: #"{"type": "image", "mime": "image/jpeg"}"#)
        #expect(validation.result == Code.reject)
        #expect(validation.message.hasPrefix("image.decode_failed: "), "\(validation.message)")
    }

    @Test func validationRefusesWhatThumbnailsRefuse() throws {
        let instance = try plugin.instance()
        defer { instance.destroy() }
        let truncated = try instance.validate(Array(gif.prefix(40)), metadata: #"{"mime": "image/gif"}"#)
        #expect(truncated.result == Code.reject && truncated.message.hasPrefix("image.truncated: "), "\(truncated.message)")
        let bomb = try instance.validate(HostileImages.pngClaiming(width: 100_000, height: 100_000), metadata: #"{"mime": "image/png"}"#)
        #expect(bomb.result == Code.reject && bomb.message.hasPrefix("image.too_large_dimension: "), "\(bomb.message)")
        let empty = try instance.validate(nil, metadata: #"{"mime": "image/png"}"#)
        #expect(empty.result == Code.reject && empty.message.hasPrefix("image.empty: "), "\(empty.message)")
    }

    /// Random byte overwrites and cuts in real files: each call must return OK (a thumbnail
    /// inside the box) or REJECT with a coded message, and never crash or hang.
    @Test(arguments: [("image/png", 0), ("image/jpeg", 1), ("image/gif", 2)])
    func mutatedFilesNeverCrash(mime: String, which: Int) throws {
        let original = [png, jpeg, gif][which]
        let instance = try plugin.instance()
        defer { instance.destroy() }
        var generator = SeededGenerator(state: UInt64(0xC0DE + which))
        var refused = 0
        for _ in 0..<150 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if Bool.random(using: &generator) { bytes = Array(bytes.prefix(Int.random(in: 1...bytes.count, using: &generator))) }
            let outcome = instance.thumbnail(bytes, mime: mime)
            switch outcome.result {
            case Code.ok:
                #expect(outcome.width >= 1 && outcome.width <= 100 && outcome.height >= 1 && outcome.height <= 100)
                #expect(!outcome.bytes.isEmpty)
            case Code.reject:
                refused += 1
                #expect(outcome.message.hasPrefix("image."), "uncoded message: \(outcome.message)")
            default:
                Issue.record("unexpected result \(outcome.result): \(outcome.message)")
            }
        }
        #expect(refused > 0, "no mutation was refused: the checks are not running")
    }
}
