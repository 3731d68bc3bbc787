"""The same paragraph in the six UN languages gets the same primary theme and close scores."""

from __future__ import annotations

from pathlib import Path

import pytest
from themes_helpers import serial, tables

from pipeline.config import Config
from pipeline.themes import fit_themes

# Written for this test: one paragraph per topic, translated into each language.
CONNECTIVITY = {
    "en": "Many rural and remote communities still have no affordable broadband. Governments should support "
    "community networks and small operators, share infrastructure such as fibre backbones and towers, and use "
    "universal service funds to extend coverage where commercial operators will not invest.",
    "fr": "De nombreuses communautés rurales et isolées n'ont toujours pas accès à un haut débit abordable. Les "
    "gouvernements devraient soutenir les réseaux communautaires et les petits opérateurs, mutualiser les "
    "infrastructures comme les dorsales en fibre optique et les pylônes, et utiliser les fonds de service universel "
    "pour étendre la couverture là où les opérateurs commerciaux n'investiront pas.",
    "es": "Muchas comunidades rurales y remotas todavía no tienen banda ancha asequible. Los gobiernos deberían "
    "apoyar las redes comunitarias y a los pequeños operadores, compartir infraestructura como la red troncal de "
    "fibra óptica y las torres, y utilizar los fondos de servicio universal para ampliar la cobertura donde los "
    "operadores comerciales no invierten.",
    "ru": "Многие сельские и отдаленные населенные пункты до сих пор не имеют доступного широкополосного доступа. "
    "Правительствам следует поддерживать сети сообществ и малых операторов, совместно использовать "
    "инфраструктуру, такую как магистральные волоконно-оптические линии и вышки, и направлять средства фондов "
    "универсального обслуживания на расширение покрытия там, где коммерческие операторы не инвестируют.",
    "zh": "许多农村和偏远社区仍然无法获得负担得起的宽带服务。政府应支持社区网络和小型运营商，共享光纤骨干网和铁塔等"
    "基础设施，并利用普遍服务基金在商业运营商不愿投资的地区扩大网络覆盖。",
    "ar": "لا تزال مجتمعات ريفية ونائية كثيرة تفتقر إلى خدمات النطاق العريض ميسورة التكلفة. وينبغي للحكومات أن "
    "تدعم الشبكات المجتمعية والمشغلين الصغار، وأن تتقاسم البنية التحتية مثل الشبكات الفقرية من الألياف البصرية "
    "والأبراج، وأن تستخدم صناديق الخدمة الشاملة لتوسيع التغطية حيث لا يستثمر المشغلون التجاريون.",
}
ENVIRONMENT = {
    "en": "Data centres and networks consume a growing share of electricity. Operators should report their energy "
    "consumption and greenhouse gas emissions, switch to renewable energy, and take back old phones so that "
    "electronic waste is repaired, reused or recycled.",
    "fr": "Les centres de données et les réseaux consomment une part croissante de l'électricité. Les opérateurs "
    "devraient publier leur consommation d'énergie et leurs émissions de gaz à effet de serre, passer aux énergies "
    "renouvelables et reprendre les anciens téléphones afin que les déchets électroniques soient réparés, "
    "réemployés ou recyclés.",
    "es": "Los centros de datos y las redes consumen una parte creciente de la electricidad. Los operadores "
    "deberían informar sobre su consumo de energía y sus emisiones de gases de efecto invernadero, pasar a "
    "energías renovables y recoger los teléfonos usados para que los residuos electrónicos se reparen, se "
    "reutilicen o se reciclen.",
    "ru": "Центры обработки данных и сети потребляют все большую долю электроэнергии. Операторам следует сообщать "
    "о своем энергопотреблении и выбросах парниковых газов, переходить на возобновляемые источники энергии и "
    "принимать старые телефоны, чтобы электронные отходы ремонтировались, повторно использовались или "
    "перерабатывались.",
    "zh": "数据中心和网络消耗的电力比例越来越高。运营商应报告其能源消耗和温室气体排放，转向可再生能源，并回收旧手机，"
    "使电子废物得到维修、再利用或回收。",
    "ar": "تستهلك مراكز البيانات والشبكات حصة متزايدة من الكهرباء. وينبغي للمشغلين أن يبلغوا عن استهلاكهم للطاقة "
    "وانبعاثاتهم من غازات الاحتباس الحراري، وأن يتحولوا إلى الطاقة المتجددة، وأن يستعيدوا الهواتف القديمة حتى "
    "يتم إصلاح النفايات الإلكترونية أو إعادة استخدامها أو إعادة تدويرها.",
}


@pytest.fixture(scope="module")
def themes_table():  # type: ignore[no-untyped-def]
    docs = [
        (f"{topic}-{lang}", lang, [text])
        for topic, paras in (("conn", CONNECTIVITY), ("env", ENVIRONMENT))
        for lang, text in paras.items()
    ]
    segments, languages, documents = tables(docs)
    themes, _ = fit_themes(segments, languages, documents, serial(Config()), corpus=Path("."))
    return themes


@pytest.mark.parametrize(("prefix", "expected"), [("conn", "connectivity"), ("env", "environment")])
def test_six_translations_share_the_primary_theme(themes_table, prefix: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    doc_rows = themes_table[
        themes_table["seg_id"].isna() & themes_table["doc_id"].str.startswith(prefix)
    ]
    primary = doc_rows[doc_rows["is_primary"]].set_index("doc_id")["theme"].to_dict()
    assert len(primary) == 6
    assert set(primary.values()) == {expected}, primary
    # Scores are comparable across languages: the primary share varies little.
    scores = doc_rows[doc_rows["is_primary"]]["score"]
    assert scores.max() - scores.min() <= 0.35, doc_rows


def test_segments_agree_with_documents(themes_table) -> None:  # type: ignore[no-untyped-def]
    seg = themes_table[themes_table["seg_id"].notna() & themes_table["is_primary"]]
    for doc_id, theme in seg[["doc_id", "theme"]].itertuples(index=False):
        assert theme == ("connectivity" if doc_id.startswith("conn") else "environment")
