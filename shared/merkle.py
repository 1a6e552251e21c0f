"""RFC 6962 Merkle trees and consistency proofs over an archive chain's record hashes (A2).

Shared by the archive (which makes the proofs) and any witness (which checks them).
"""
import hashlib


# Over the chain's record hashes (leaf i = the bytes of record i's hash), a Merkle tree as
# certificate-transparency logs keep (RFC 6962 §2.1, SHA-256, 0x00 leaf / 0x01 node prefixes).
# A checkpoint at seq m with tree root r_m and a later one at n with r_n are consistent when a
# proof of O(log n) hashes shows the first m records unchanged inside the n: any witness holding
# r_m checks a new checkpoint without the records (a rollback or a rewrite fails the proof).

def _leaf_hash(record_hash):
    return hashlib.sha256(b"\x00" + bytes.fromhex(record_hash)).digest()


def _node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n):
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def _mth(leaves, lo, hi):
    n = hi - lo
    if n == 1:
        return leaves[lo]
    k = _split(n)
    return _node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def merkle_root(record_hashes):
    """RFC 6962 Merkle Tree Hash (hex) of the records whose hashes are given, in seq order."""
    if not record_hashes:
        return hashlib.sha256(b"").hexdigest()
    leaves = [_leaf_hash(h) for h in record_hashes]
    return _mth(leaves, 0, len(leaves)).hex()


def consistency_proof(record_hashes, m):
    """RFC 6962 §2.1.2 PROOF(m, D[n]) (hex list): the first m records are a prefix of the n given."""
    n = len(record_hashes)
    if not 0 <= m <= n:
        raise ValueError("A2: the first tree must not be larger than the second")
    if m in (0, n):
        return []
    leaves = [_leaf_hash(h) for h in record_hashes]
    proof = []

    def subproof(m, lo, hi, whole):
        n = hi - lo
        if m == n:
            if not whole:
                proof.append(_mth(leaves, lo, hi))
            return
        k = _split(n)
        if m <= k:
            subproof(m, lo, lo + k, whole)
            proof.append(_mth(leaves, lo + k, hi))
        else:
            subproof(m - k, lo + k, hi, False)
            proof.append(_mth(leaves, lo, lo + k))
    subproof(m, 0, n, True)
    return [h.hex() for h in proof]


def verify_consistency(m, n, first_root, second_root, proof):
    """RFC 9162 §2.1.4.2: True when ``proof`` shows the tree of size m (``first_root``) is a
    prefix of the tree of size n (``second_root``)."""
    try:
        path = [bytes.fromhex(h) for h in proof]
        first, second = bytes.fromhex(first_root), bytes.fromhex(second_root)
    except (TypeError, ValueError):
        return False
    if not 0 <= m <= n:
        return False
    if m == n:
        return not path and first == second
    if m == 0:
        return not path
    if m & (m - 1) == 0:            # the first tree is a complete subtree: it starts the path
        path = [first] + path
    if not path:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _node_hash(c, fr)
            sr = _node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first and sr == second and sn == 0
