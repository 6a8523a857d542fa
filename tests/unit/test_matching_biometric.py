"""TemplateGallery: 1:N search by cosine similarity, per modality and algorithm
(services/correlate/matching/biometric.py)."""

import numpy as np

from services.correlate.matching.biometric import TemplateGallery

FACE = {"modality": "FACE", "algorithm": "acme-face", "algorithm_version": "3"}


def unit(rng, dim=64):
    v = rng.standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def template(vector, **kw):
    return {**FACE, "dimension": len(vector), "vector": list(map(float, vector)), **kw}


def test_nearest_template_above_the_modality_threshold():
    rng = np.random.default_rng(7)
    gallery = TemplateGallery()
    faces = {f"p{i}": unit(rng) for i in range(300)}
    for entry_id, face in faces.items():
        gallery.set_templates(entry_id, [template(face)])
    assert len(gallery) == 300
    probe = faces["p42"] + unit(rng) * 0.3
    hits = gallery.search(template(probe))
    assert hits[0].entry_id == "p42" and hits[0].similarity >= gallery.threshold("FACE")
    assert gallery.search(template(unit(rng))) == []  # a stranger


def test_threshold_per_modality_and_versions_not_mixed():
    rng = np.random.default_rng(8)
    face = unit(rng)
    gallery = TemplateGallery(thresholds={"FACE": 0.99})
    gallery.set_templates("p1", [template(face)])
    near = face + unit(rng) * 0.2  # cosine about 0.98
    assert gallery.search(template(near)) == []
    assert gallery.search(template(face))[0].entry_id == "p1"
    assert gallery.search(template(face, algorithm_version="4")) == []  # another extractor version


def test_replace_and_remove_templates():
    rng = np.random.default_rng(9)
    old, new = unit(rng), unit(rng)
    gallery = TemplateGallery()
    gallery.set_templates("p1", [template(old)])
    gallery.set_templates("p1", [template(new)])
    assert gallery.search(template(old)) == []
    assert [h.entry_id for h in gallery.search(template(new))] == ["p1"]
    assert gallery.remove("p1") and "p1" not in gallery and len(gallery) == 0
    assert gallery.search(template(new)) == []
