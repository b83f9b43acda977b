"""Prompt suites: PartiPrompts, DrawBench and MLPerf COCO-2014 caption files the tests write; the download."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml
from hub_server import hub_server

from bench.config import load_config
from bench.errors import ConfigError
from bench.prompt_suites import SUITES, Prompts

PARTI = (
    "Prompt\tCategory\tChallenge\tNote\n"
    "bond\tAbstract\tBasic\t\n"
    "a cat sitting on a mat\tAnimals\tBasic\t\n"
    "a horse riding an astronaut\tAnimals\tImagination\tflipped roles\n"
    "a red bus\tVehicles\tBasic\t\n"
    "a cat sitting on a mat\tAnimals\tBasic\tduplicate row\n"
)
DRAWBENCH = (
    'Prompts,Category\n"A red colored car.",Colors\n"Three cats and one dog sitting on the grass.",Counting\n'
    '"A black colored banana, with ""quotes"".",Colors\n'
)
COCO = (
    "id\timage_id\tcaption\theight\twidth\tfile_name\tcoco_url\n"
    "0\t42\tA man riding a wave on top of a surfboard.\t480\t640\tCOCO_val2014_000000000042.jpg\thttp://x/42.jpg\n"
    "1\t73\tA kitchen with wooden cabinets.\t427\t640\tCOCO_val2014_000000000073.jpg\thttp://x/73.jpg\n"
)


def config(tmp_path: Path, prompts) -> Path:
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump({"prompts": prompts, "seeds": [1], "samplers": ["Euler"], "steps": [2]}))
    return path


def test_parti_categories_limit_order_and_duplicates(tmp_path: Path) -> None:
    (tmp_path / "parti.tsv").write_text(PARTI)
    got = load_config(config(tmp_path, {"suite": "parti", "file": "parti.tsv", "categories": ["animals"]})).prompts
    assert tuple(got) == ("a cat sitting on a mat", "a horse riding an astronaut")  # file order, no duplicate
    assert got.categories == {"a cat sitting on a mat": "Animals", "a horse riding an astronaut": "Animals"}
    limited = load_config(config(tmp_path, {"suite": "parti", "file": "parti.tsv", "limit": 2})).prompts
    assert tuple(limited) == ("bond", "a cat sitting on a mat") and limited.suite == "parti"
    assert pickle.loads(pickle.dumps(limited)).categories == limited.categories  # executors pickle configs


def test_drawbench_csv_with_quotes(tmp_path: Path) -> None:
    (tmp_path / "db.csv").write_text(DRAWBENCH)
    got = load_config(config(tmp_path, {"suite": "drawbench", "file": "db.csv", "categories": ["Colors"]})).prompts
    assert tuple(got) == ("A red colored car.", 'A black colored banana, with "quotes".')


def test_mlperf_coco_captions(tmp_path: Path) -> None:
    (tmp_path / "captions_source.tsv").write_text(COCO)
    got = load_config(config(tmp_path, {"suite": "coco2014", "file": "captions_source.tsv"})).prompts
    assert tuple(got) == ("A man riding a wave on top of a surfboard.", "A kitchen with wooden cabinets.")
    assert got.categories == {}


def test_a_plain_list_still_works(tmp_path: Path) -> None:
    assert load_config(config(tmp_path, ["a", "b"])).prompts == ("a", "b")


@pytest.mark.parametrize(
    "prompts, message",
    [
        ({"suite": "partee", "file": "p.tsv"}, "unknown prompt suite 'partee'; one of parti"),
        (
            {"suite": "parti", "file": "p.tsv", "categories": ["Dogs"]},
            "unknown parti category 'Dogs'; categories: Abstract, Animals, Vehicles",
        ),
        ({"suite": "parti", "file": "missing.tsv"}, "cannot read"),
        ({"suite": "coco2014", "file": "p.tsv"}, "is not a coco2014 file: no caption column"),
        ({"suite": "coco2014", "file": "c.tsv", "categories": ["x"]}, "the coco2014 suite has no categories"),
        ({"file": "p.tsv"}, "needs suite:"),
        ({"suite": "parti", "file": "p.tsv", "limt": 3}, "Did you mean 'limit'"),
    ],
)
def test_bad_suites_are_located_config_errors(tmp_path: Path, prompts, message: str) -> None:
    (tmp_path / "p.tsv").write_text(PARTI)
    (tmp_path / "c.tsv").write_text(COCO)
    path = config(tmp_path, prompts)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_suite_is_downloaded_once_into_the_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SAMPLERBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with hub_server() as server:
        server.files["/parti/PartiPrompts.tsv"] = PARTI.encode()
        monkeypatch.setitem(
            SUITES,
            "parti",
            SUITES["parti"].__class__("parti", f"{server.url}/parti/PartiPrompts.tsv", "\t", ("Prompt",), "Category"),
        )
        got = load_config(config(tmp_path, {"suite": "parti", "limit": 1})).prompts
        assert tuple(got) == ("bond",)
        assert (tmp_path / "cache" / "prompts" / "PartiPrompts.tsv").read_text() == PARTI
        served = len(server.requests)
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        assert tuple(load_config(config(tmp_path, {"suite": "parti", "limit": 1})).prompts) == ("bond",)
        assert len(server.requests) == served  # read from the cache


def test_offline_suite_download_is_refused_with_the_file_hint(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SAMPLERBENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match="offline .*prompts: {suite: drawbench, file: path}"):
        load_config(config(tmp_path, {"suite": "drawbench"}))


def test_prompts_type_is_a_tuple_of_str() -> None:
    assert isinstance(Prompts(["a"]), tuple) and Prompts(["a"]) == ("a",)


def test_the_mlperf_example_parses(tmp_path: Path) -> None:
    import shutil

    import numpy as np

    example = Path(__file__).resolve().parents[2] / "examples" / "mlperf-sdxl.yaml"
    shutil.copy(example, tmp_path / "mlperf.yaml")
    np.savez(tmp_path / "val2014.npz", mu=np.zeros(3), sigma=np.eye(3))
    (tmp_path / "captions_source.tsv").write_text(COCO)
    text = (
        (tmp_path / "mlperf.yaml").read_text().replace("  # file: captions_source.tsv", "  file: captions_source.tsv")
    )
    (tmp_path / "mlperf.yaml").write_text(text)
    loaded = load_config(tmp_path / "mlperf.yaml")
    assert loaded.metrics == ("clip_score", "fid") and loaded.cfg_scales == (8.0,) and loaded.steps == (20,)
    assert loaded.quality.fid.kind == "stats" and len(loaded.prompts) == 2


def test_suite_labels_are_cell_columns_not_identity(tmp_path: Path) -> None:
    from bench.matrix import expand

    (tmp_path / "parti.tsv").write_text(PARTI)
    suite = load_config(config(tmp_path, {"suite": "parti", "file": "parti.tsv"}))
    plain = load_config(config(tmp_path, [str(p) for p in suite.prompts]))
    cells, plain_cells = expand(suite), expand(plain)
    assert [c.id for c in cells] == [c.id for c in plain_cells]  # ids (and baselines) do not change
    params = {c.prompt: c.params() for c in cells}
    assert params["a horse riding an astronaut"]["prompt_category"] == "Animals"
    assert params["a horse riding an astronaut"]["prompt_challenge"] == "Imagination"
    assert params["bond"]["prompt_category"] == "Abstract" and type(params["bond"]["prompt"]) is str
    assert {p["prompt_category"] for p in (c.params() for c in plain_cells)} == {None}
    again = pickle.loads(pickle.dumps(cells[1]))  # executors pickle cells
    assert again.params() == cells[1].params() and again.id == cells[1].id


@pytest.mark.slow  # end to end: a real run and its report
def test_a_suite_run_stores_categories_and_reports_means_per_category(tmp_path: Path) -> None:
    import bench
    from bench.cli import main
    from reports.metrics import METRICS

    (tmp_path / "parti.tsv").write_text(PARTI)
    path = tmp_path / "b.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "prompts": {"suite": "parti", "file": "parti.tsv", "categories": ["Animals", "Vehicles"]},
                "seeds": [1, 2],
                "samplers": ["Euler", "Heun"],
                "steps": [3],
                "size": [8, 8],
            }
        )
    )
    assert main(["run", str(path), "-o", str(tmp_path / "run"), "--no-progress"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert dict(zip(frame.prompt, frame.prompt_category)) == {
        "a cat sitting on a mat": "Animals",
        "a horse riding an astronaut": "Animals",
        "a red bus": "Vehicles",
    }
    assert set(frame.prompt_challenge) == {"Basic", "Imagination"}
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert 'id="by-prompt_category"' in html and 'id="by-prompt_challenge"' in html
    animals = frame[(frame.sampler == "Heun") & (frame.prompt_category == "Animals")]
    assert len(animals) == 4
    assert METRICS["alignment"].format(animals.alignment.mean()) in html
    assert '"groups":[{"key":"prompt_category","label":"category","values":["Animals","Vehicles"]' in html
    # bench compare of two runs of the suite: a By category section, the same labels
    assert main(["run", str(path), "-o", str(tmp_path / "again"), "--no-progress"]) == 0
    out = tmp_path / "cmp"
    assert main(["compare", str(tmp_path / "run"), str(tmp_path / "again"), "-o", str(out)]) == 0
    md = (out / "compare.md").read_text(encoding="utf-8")
    assert "#### By category" in md and "#### By challenge" in md
    assert "| Animals | 8 |" in md and "| Vehicles | 4 |" in md  # 2 samplers x prompts x 2 seeds, matched by id
