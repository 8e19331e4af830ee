//! The network benchmarks' shared parts: the minimal HTTP responder's
//! parser (one function, used by every runtime's server so only the
//! runtime differs), the canned response, and the echo/churn clients.

pub mod client;
pub mod report;

/// The minimal responder's answer to every request (the TechEmpower
/// plaintext body).
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

/// Takes every complete request (up to a blank line) from the front of
/// `input`, and appends one [`RESPONSE`] per request to `out`. Returns how
/// many requests it answered. Request bodies are not supported (the load
/// is GETs).
pub fn respond(input: &mut Vec<u8>, out: &mut Vec<u8>) -> usize {
    let mut consumed = 0;
    let mut answered = 0;
    while let Some(end) = find_blank_line(&input[consumed..]) {
        consumed += end;
        out.extend_from_slice(RESPONSE);
        answered += 1;
    }
    input.drain(..consumed);
    answered
}

fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_each_complete_request_and_keeps_the_partial_one() {
        let mut input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\nGET /".to_vec();
        let mut out = Vec::new();
        assert_eq!(respond(&mut input, &mut out), 2);
        assert_eq!(out.len(), 2 * RESPONSE.len());
        assert_eq!(input, b"GET /");
        input.extend_from_slice(b" HTTP/1.1\r\n\r\n");
        assert_eq!(respond(&mut input, &mut out), 1);
        assert!(input.is_empty());
    }
}
