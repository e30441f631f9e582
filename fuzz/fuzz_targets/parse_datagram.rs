//! Arbitrary bytes into `wire::parse`: never panics, and whatever parses re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringtun::core::wire::{
    self, DATA_HEADER_LEN, INITIATION_LEN, KEEPALIVE_LEN, MSG_DATA, MSG_INITIATION, MSG_RESPONSE,
    Packet, RESPONSE_LEN, WireError,
};

fuzz_target!(|data: &[u8]| {
    let mut datagram = data.to_vec();
    let len = datagram.len();
    match wire::parse(&mut datagram) {
        Ok(Packet::Initiation(initiation)) => {
            assert_eq!(len, INITIATION_LEN);
            let mut out = [0u8; INITIATION_LEN];
            initiation.encode(&mut out);
            assert_eq!(&out[..], data);
        }
        Ok(Packet::Response(response)) => {
            assert_eq!(len, RESPONSE_LEN);
            let mut out = [0u8; RESPONSE_LEN];
            response.encode(&mut out);
            assert_eq!(&out[..], data);
        }
        Ok(Packet::Data {
            header,
            header_bytes,
            body,
        }) => {
            assert!(len >= KEEPALIVE_LEN);
            assert_eq!(header.encode(), *header_bytes);
            assert_eq!(&header_bytes[..], &data[..DATA_HEADER_LEN]);
            assert_eq!(body.len(), len - DATA_HEADER_LEN);
            assert_eq!(&body[..], &data[DATA_HEADER_LEN..]);
        }
        Err(WireError::Empty) => assert!(data.is_empty()),
        Err(WireError::UnknownType(t)) => {
            assert_eq!(Some(&t), data.first());
            assert!(![MSG_INITIATION, MSG_RESPONSE, MSG_DATA].contains(&t));
        }
        Err(WireError::BadLength {
            msg_type,
            len: reported,
        }) => {
            assert_eq!(reported, len);
            assert_eq!(Some(&msg_type), data.first());
        }
        Err(WireError::ReservedNotZero) => assert_ne!(data.get(1..4), Some(&[0u8, 0, 0][..])),
        Err(WireError::BadTunnelConfig) => panic!("parse does not decode tunnel configs"),
    }
    // Parsing reads only.
    assert_eq!(datagram, data);
});
