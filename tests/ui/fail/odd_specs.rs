// Odd and degenerate declarations: each is rejected with a message, none crashes the macro.
staticnn::model! { pub struct A { input() , dense(2) } }
staticnn::model! { pub struct B { input(0, 0, 0), flatten, dense(2) } }
staticnn::model! { pub struct C { input(1, 4, 4), conv2d(), flatten, dense(2) } }
staticnn::model! { pub struct D { input(1, 4, 4), residual {}, flatten, dense(2) } }
staticnn::model! { pub struct E { input(1, 4, 4), residual { residual { } }, flatten, dense(2) } }
staticnn::model! { pub struct F { input(4), residual { dense(4) }, maxpool(0), dense(2) } }
staticnn::model! { pub struct G { input(1, 4, 4), avgpool((2, 2)), global_avgpool(1), flatten(3), dense(2) } }
staticnn::model! { pub struct H { input(1, 4, 4), conv2d(4, (0, 3)), conv2d(4, (3,)), conv2d(4, 3, exact = 1), flatten, dense(2) } }
staticnn::model! { pub struct I { input(1, 4, 4), conv2d(4, 3, kernel = 3), conv2d(4, 3, bogus = 1), flatten, dense(2) } }

fn main() {}
